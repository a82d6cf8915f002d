// Validation of committed redo operations against the catalog (store/replay_check.hpp).
#include "store/replay_check.hpp"

#include "h5tx/error.hpp"
#include "hdf5/chunk_codec.hpp"
#include "hdf5/dataset_ops.hpp"
#include "hdf5/handle.hpp"
#include "journal/tx_dir.hpp"
#include "util/names.hpp"

namespace h5tx {

using journal::Op;
using journal::OpKind;

bool ReplayCheck::file_exists(const std::string& file) {
  auto it = files_exist_.find(file);
  if (it != files_exist_.end()) return it->second;
  MutexLock lock(files_->mutex());
  bool e = files_->exists(file);
  files_exist_[file] = e;
  return e;
}

std::optional<DatasetSpec>& ReplayCheck::dataset(const std::string& file, const std::string& path) {
  auto key = std::make_pair(file, path);
  auto it = datasets_.find(key);
  if (it != datasets_.end()) return it->second;
  std::optional<DatasetSpec> spec;
  MutexLock lock(files_->mutex());
  if (files_->exists(file)) {  // on disk: as flushed
    hid_t h = files_->handle(file);
    if (hdf5::dataset_exists(h, path)) spec = hdf5::read_spec(h, path);
  }
  return datasets_[key] = spec;
}

bool ReplayCheck::object_exists(const std::string& file, const std::string& object) {
  if (object == "/") return true;
  for (const auto& kv : datasets_)  // a dataset, or a group made for one
    if (kv.first.first == file && kv.second &&
        (kv.first.second == object || kv.first.second.compare(0, object.size() + 1, object + "/") == 0))
      return true;
  MutexLock lock(files_->mutex());
  if (!files_->exists(file)) return false;
  hid_t h = files_->handle(file);
  hdf5::Lock hl(hdf5::mutex());
  // Each link along the path must exist before the next can be asked about.
  for (size_t pos = 1; pos <= object.size(); pos++) {
    pos = object.find('/', pos);
    if (pos == std::string::npos) pos = object.size();
    if (H5Lexists(h, object.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

std::string ReplayCheck::problem(const Op& op) {
  if (op.kind == OpKind::CreateFile) {
    files_exist_[op.file] = true;
    return "";
  }
  if (!file_exists(op.file)) return "data file " + op.file + " does not exist";
  switch (op.kind) {
    case OpKind::CreateDataset: {
      try {
        hdf5::validate_spec(op.spec, op.path);
      } catch (const InvalidArgumentError& e) {
        return "invalid dataset definition: " + e.detail();
      }
      auto& d = dataset(op.file, op.path);
      if (d && !hdf5::same_definition(*d, op.spec)) return "dataset exists with another definition";
      if (!d) d = hdf5::normalize_spec(op.spec);
      return "";
    }
    case OpKind::ExtendDataset: {
      auto& d = dataset(op.file, op.path);
      if (!d) return "no such dataset";
      if (op.shape.size() != d->shape.size()) return "rank differs from the dataset's";
      for (size_t i = 0; i < op.shape.size(); i++) {
        if (op.shape[i] > d->max_shape[i]) return "extent beyond the dataset's maximum shape";
        d->shape[i] = std::max(d->shape[i], op.shape[i]);
      }
      return hdf5::extent_problem(d->dtype, d->shape);
    }
    case OpKind::SetAttribute:
    case OpKind::DeleteAttribute:
      return object_exists(op.file, op.path) ? "" : "no such object";
    case OpKind::WriteChunk: {
      auto& d = dataset(op.file, op.path);
      if (!d) return "no such dataset";
      if (op.shape.size() != d->shape.size()) return "chunk coordinates' rank differs from the dataset's";
      for (size_t i = 0; i < op.shape.size(); i++)
        if (op.shape[i] >= (d->shape[i] + d->chunk[i] - 1) / d->chunk[i])
          return "chunk lies outside the dataset's extent";
      return hdf5::stored_chunk_problem(*d, op.chunk_size, op.filter_mask);
    }
    default:
      return "unknown operation";
  }
}

void ReplayCheck::check(const journal::Manifest& m, const std::string& dir) {
  for (size_t i = 0; i < m.ops.size(); i++) {
    const Op& op = m.ops[i];
    std::string p;
    try {
      p = problem(op);
    } catch (const Error& e) {
      p = e.what();
    }
    if (p.empty()) continue;
    throw CorruptionError(dir, "committed transaction " + journal::txid_hex(m.txid) + ", operation " +
                                   std::to_string(i + 1) + " on " + names::printable(op.file) + ":" +
                                   names::printable(op.path) + " cannot be applied: " + p +
                                   " (h5tx recover HOME --quarantine " + journal::txid_hex(m.txid) +
                                   " moves it aside)");
  }
}

}  // namespace h5tx
