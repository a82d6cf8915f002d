// Recording the versions a flush batch replaces (flush/history_record.hpp).
#include "flush/history_record.hpp"

#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "h5tx/error.hpp"
#include "hdf5/dataset_ops.hpp"
#include "journal/history_segment.hpp"
#include "journal/tx_reader.hpp"

namespace h5tx {

using journal::HistoryRecord;
using journal::Op;
using journal::OpKind;

namespace {

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The running state of what the batch touches: starts as the data files
// hold it (read lazily, before any of them changes), then follows the
// batch's operations in txid order.
class Running {
 public:
  explicit Running(DataFiles& files) : files_(files) {}

  bool file(const std::string& f) {
    auto it = files_exist_.find(f);
    if (it != files_exist_.end()) return it->second;
    MutexLock lock(files_.mutex());
    return files_exist_[f] = files_.exists(f);
  }
  void set_file(const std::string& f) { files_exist_[f] = true; }

  std::optional<DatasetSpec>& spec(const std::string& f, const std::string& path) {
    auto key = std::make_pair(f, path);
    auto it = specs_.find(key);
    if (it != specs_.end()) return it->second;
    std::optional<DatasetSpec> s;
    if (file(f)) {
      MutexLock lock(files_.mutex());
      if (files_.exists(f)) {
        hid_t h = files_.handle(f);
        if (hdf5::dataset_exists(h, path)) s = hdf5::read_spec(h, path);
      }
    }
    return specs_[key] = s;
  }

  std::optional<AttributeValue>& attr(const std::string& f, const std::string& object,
                                      const std::string& name) {
    auto key = std::make_tuple(f, object, name);
    auto it = attrs_.find(key);
    if (it != attrs_.end()) return it->second;
    std::optional<AttributeValue> v;
    if (file(f)) {
      MutexLock lock(files_.mutex());
      if (files_.exists(f)) {
        hid_t h = files_.handle(f);
        if (hdf5::object_exists(h, object)) {
          try {
            v = hdf5::read_attribute(h, object, name);
          } catch (const NotFoundError&) {
          }
        }
      }
    }
    return attrs_[key] = v;
  }

  // The chunk's current version: never written, or written with its bytes
  // in the data file (op == nullptr; *stored gets them on this first use)
  // or in a journal copy of an older transaction of the batch.
  struct ChunkNow {
    bool written = false;
    const std::string* dir = nullptr;
    const Op* op = nullptr;
  };
  ChunkNow& chunk(const std::string& f, const std::string& ds, const Shape& coords, std::string* stored,
                  uint32_t* mask) {
    auto key = std::make_tuple(f, ds, coords);
    auto it = chunks_.find(key);
    if (it != chunks_.end()) return it->second;
    ChunkNow now;
    if (file(f)) {
      MutexLock lock(files_.mutex());
      if (files_.exists(f)) {
        hid_t h = files_.handle(f);
        std::vector<uint8_t> bytes;
        try {
          if (hdf5::dataset_exists(h, ds) && hdf5::read_chunk_stored(h, ds, coords, &bytes, mask)) {
            now.written = true;
            stored->assign(bytes.begin(), bytes.end());
          }
        } catch (const InvalidArgumentError&) {
          // Outside the file's extent (the batch extends it): never written.
        }
      }
    }
    return chunks_[key] = now;
  }

 private:
  DataFiles& files_;
  std::map<std::string, bool> files_exist_;
  std::map<std::pair<std::string, std::string>, std::optional<DatasetSpec>> specs_;
  std::map<std::tuple<std::string, std::string, std::string>, std::optional<AttributeValue>> attrs_;
  std::map<std::tuple<std::string, std::string, Shape>, ChunkNow> chunks_;
};

}  // namespace

HistoryRecorder::HistoryRecorder(Env* env, std::string history_dir)
    : env_(env), dir_(std::move(history_dir)) {
  for (const std::string& name : env_->list_dir(dir_)) {
    uint64_t first = 0, last = 0;
    if (journal::parse_segment_name(name, &first, &last)) {
      recorded_through_ = std::max(recorded_through_, last);
    } else if (has_suffix(name, ".tmp") && name.compare(0, 8, "writing-") == 0) {
      env_->remove_file(path_join(dir_, name));
    }
  }
}

void HistoryRecorder::record(DataFiles& files, const std::vector<BatchTx>& batch,
                             const std::vector<journal::Manifest>& manifests) {
  journal::HistorySegment seg;
  for (const auto& m : manifests)
    if (m.txid > recorded_through_) seg.txs.push_back({m.txid, m.commit_time_micros});
  if (seg.txs.empty()) return;
  seg.first_txid = seg.txs.front().txid;
  seg.last_txid = seg.txs.back().txid;

  journal::SegmentWriter writer(*env_, dir_);
  Running run(files);
  for (size_t i = 0; i < manifests.size(); i++) {
    const journal::Manifest& m = manifests[i];
    const bool emit = m.txid > recorded_through_;
    // One record per thing per transaction: the version before it.
    std::set<std::tuple<int, std::string, std::string, std::string, Shape>> seen;
    auto first_touch = [&](const Op& op, int what) {
      return emit && seen.insert({what, op.file, op.path, op.name, what == 3 ? op.shape : Shape{}}).second;
    };
    for (const Op& op : m.ops) {
      HistoryRecord r;
      r.to_txid = m.txid;
      r.op.file = op.file;
      r.op.path = op.path;
      switch (op.kind) {
        case OpKind::CreateFile:
          if (first_touch(op, 0) && !run.file(op.file)) {
            r.op.kind = OpKind::CreateFile;
            r.op.path.clear();
            seg.records.push_back(r);
          }
          run.set_file(op.file);
          break;
        case OpKind::CreateDataset:
        case OpKind::ExtendDataset: {
          std::optional<DatasetSpec>& cur = run.spec(op.file, op.path);
          if (first_touch(op, 1)) {
            r.op.kind = OpKind::CreateDataset;
            r.present = cur.has_value();
            // Absent: the spec field holds the one created (ignored on read).
            r.op.spec = cur ? *cur : hdf5::normalize_spec(op.spec);
            seg.records.push_back(r);
          }
          if (op.kind == OpKind::CreateDataset) {
            if (!cur) cur = hdf5::normalize_spec(op.spec);
          } else if (cur && cur->shape.size() == op.shape.size()) {
            for (size_t d = 0; d < op.shape.size(); d++) cur->shape[d] = std::max(cur->shape[d], op.shape[d]);
          }
          break;
        }
        case OpKind::SetAttribute:
        case OpKind::DeleteAttribute: {
          std::optional<AttributeValue>& cur = run.attr(op.file, op.path, op.name);
          r.op.name = op.name;
          if (first_touch(op, 2)) {
            r.present = cur.has_value();
            r.op.kind = r.present ? OpKind::SetAttribute : OpKind::DeleteAttribute;
            if (cur) r.op.attr = *cur;
            seg.records.push_back(r);
          }
          if (op.kind == OpKind::SetAttribute)
            cur = op.attr;
          else
            cur.reset();
          break;
        }
        case OpKind::WriteChunk: {
          std::string stored;
          uint32_t mask = 0;
          Running::ChunkNow& cur = run.chunk(op.file, op.path, op.shape, &stored, &mask);
          if (first_touch(op, 3)) {
            r.op.kind = OpKind::WriteChunk;
            r.op.shape = op.shape;
            r.present = cur.written;
            if (cur.written) {
              if (cur.op) {  // written by an older transaction of this batch
                stored = journal::read_chunk_file(*env_, *cur.dir, *cur.op);
                mask = cur.op->filter_mask;
              }  // else: from the data file, read by run.chunk (only ever on first use)
              r.op.filter_mask = mask;
              writer.add_chunk(stored, &r.op);
              bytes_recorded_ += stored.size();
            }
            seg.records.push_back(r);
          }
          cur.written = true;
          cur.dir = &batch[i].dir;
          cur.op = &op;
          break;
        }
      }
    }
  }
  writer.finish(seg);
  recorded_through_ = seg.last_txid;
}

}  // namespace h5tx
