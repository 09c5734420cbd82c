// A VFS over the default one that fails the Nth write or sync (SQLite's test_vfs.c,
// leveldb's fault_injection_test.cc), for the fault-injection tests: register it, open the
// engine with `"vfs": "faulty"`, arm a countdown in g_fault, and see whether it fired.
#ifndef ELECTROLITE_TESTS_NATIVE_FAULT_VFS_H_
#define ELECTROLITE_TESTS_NATIVE_FAULT_VFS_H_

namespace electrolite {
namespace testing {

struct FaultState {
  int write_countdown = 0;  // 0 = disarmed; fail when it reaches 0 from 1
  int sync_countdown = 0;
  bool fired = false;
};
extern FaultState g_fault;

// Registers the VFS "faulty" (once).
void RegisterFaultVfs();

}  // namespace testing
}  // namespace electrolite

#endif  // ELECTROLITE_TESTS_NATIVE_FAULT_VFS_H_
