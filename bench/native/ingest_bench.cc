// Placeholder main replaced by the ingest benchmark below.
int main() { return 0; }
