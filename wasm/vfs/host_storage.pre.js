// The JS half of the host-storage raw layer (wasm/vfs/host_storage.cc): the registry of
// storage backends (js/storage.ts attaches them) and the one place that classifies what a
// backend threw into an IoCode (kNotFound 1, kIoError 2, kFull 3, kCantOpen 4), keeping its
// message as the host's last error. Nothing here ever throws into wasm.
Module['elStorage'] = {
  hosts: [],
  errors: [],
  fail: function (host, e) {
    var name = (e && e.name) || 'Error';
    var code = e && e.code;
    var message = (e && e.message) || String(e);
    this.errors[host] = name + (code ? ' ' + code : '') + ': ' + message;
    if (name === 'QuotaExceededError' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return 3;
    if (name === 'NotFoundError' || code === 'ENOENT') return 1;
    return 2;
  },
};
