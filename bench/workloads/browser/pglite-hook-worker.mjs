// The PGlite worker of the `hook-render` page (hook-page.jsx): PGlite on OPFS-AHP behind
// @electric-sql/pglite/worker, the PGlite docs' set-up for a browser app (the page's
// PGliteWorker carries the live extension). The table was filled by a first page through
// peer-worker.mjs (same directory, same DDL).
/* global PGLITE_DIR */
import { PGlite } from '@electric-sql/pglite';
import { worker } from '@electric-sql/pglite/worker';

worker({ init: () => PGlite.create(PGLITE_DIR) });
