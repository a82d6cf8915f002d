// include/h5tx/sec2j.h: the C names of sec2j over the undo driver. Errors
// never cross into C as exceptions: they go to the HDF5 error stack.
#include "h5tx/sec2j.h"

#include <exception>
#include <string>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "undo/driver.hpp"

namespace {

template <typename Fn>
herr_t c_call(const char* func, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, H5E_VFL, H5E_CANTOPERATE, "%s", e.what());
    return -1;
  }
}

}  // namespace

extern "C" {

hid_t H5FD_sec2j_init(void) {
  hid_t id = H5I_INVALID_HID;
  c_call(__func__, [&] {
    id = h5tx::undo::driver_id();
    return 0;
  });
  return id;
}

void H5FD_sec2j_term(void) {
  c_call(__func__, [&] {
    h5tx::undo::unregister_driver();
    return 0;
  });
}

herr_t H5Pset_fapl_sec2j(hid_t fapl) {
  return H5Pset_fapl_sec2j_journal(fapl, nullptr);
}

herr_t H5Pset_fapl_sec2j_journal(hid_t fapl, const char* journal_path) {
  return c_call(__func__, [&] {
    h5tx::undo::DriverConfig cfg;
    if (journal_path) cfg.journal_path = journal_path;
    h5tx::undo::set_fapl(fapl, cfg);
    return 0;
  });
}

herr_t H5FD_sec2j_tx_start(hid_t file) {
  return c_call(__func__, [&] {
    h5tx::undo::tx_start(file);
    return 0;
  });
}

herr_t H5FD_sec2j_tx_end(hid_t file) {
  return c_call(__func__, [&] {
    h5tx::undo::tx_commit(file);
    return 0;
  });
}

herr_t H5FD_sec2j_tx_abort(hid_t file) {
  return c_call(__func__, [&] {
    h5tx::undo::tx_abort(file);
    return 0;
  });
}

herr_t H5FD_sec2j_recover(const char* file, const char* journal_or_null) {
  return c_call(__func__, [&]() -> herr_t {
    if (!file || !*file) throw h5tx::InvalidArgumentError("", "H5FD_sec2j_recover: no file name");
    std::string journal = journal_or_null && *journal_or_null ? std::string(journal_or_null)
                                                              : h5tx::undo::default_journal_path(file);
    return h5tx::undo::recover(*h5tx::Env::posix(), file, journal) ? 1 : 0;
  });
}

}  // extern "C"
