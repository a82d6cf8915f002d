// StagedWriter (include/h5tx/staged.hpp): one worker's part file in a
// staging transaction's _temp directory. It filters chunks as the
// transaction would (hdf5/chunk_codec) and records where each copy is.
#include "h5tx/staged.hpp"

#include "h5tx/error.hpp"
#include "hdf5/chunk_codec.hpp"
#include "journal/manifest.hpp"
#include "journal/staged_parts.hpp"
#include "util/names.hpp"

namespace h5tx {

struct StagedWriter::Impl {
  Env* env = nullptr;
  std::string dir;
  std::string part;
  std::unique_ptr<File> file;
  uint64_t size = 0;
  bool finished = false;
  std::vector<StagedChunk> chunks;
};

StagedWriter::StagedWriter(const std::string& token, Env* env) : impl_(std::make_unique<Impl>()) {
  impl_->env = env ? env : Env::posix();
  impl_->dir = journal::parse_stage_token(token);
  // No symlink is followed under HOME: is_directory is false for a link.
  if (!impl_->env->is_directory(impl_->dir))
    throw NotFoundError(impl_->dir,
                        "staging directory not found: its transaction has ended, or HOME is not on a file "
                        "system this process sees at the same path");
}

StagedWriter::~StagedWriter() = default;

const std::string& StagedWriter::dir() const {
  return impl_->dir;
}
const std::string& StagedWriter::part() const {
  return impl_->part;
}

void StagedWriter::write_chunk(const std::string& file, const std::string& dataset, const DatasetSpec& spec,
                               const Shape& coords, const void* data, size_t size) {
  Impl& w = *impl_;
  if (w.finished) throw StateError(w.dir, "write_chunk: the staged writer has finished");
  names::check_file_name(file);
  std::string what = file + ":" + dataset;
  names::check_dataset_path(dataset, what);
  if (coords.size() != spec.shape.size())
    throw InvalidArgumentError(what, "chunk coordinates have rank " + std::to_string(coords.size()) +
                                         ", the dataset has rank " + std::to_string(spec.shape.size()));
  size_t expect = hdf5::chunk_bytes(spec);
  if (size != expect)
    throw InvalidArgumentError(what, "chunk has " + std::to_string(size) +
                                         " bytes, the dataset's chunks have " + std::to_string(expect));
  StagedChunk c;
  c.file = file;
  c.dataset = dataset;
  c.coords = coords;
  std::vector<uint8_t> filtered;
  const void* bytes = data;
  size_t n = size;
  if (spec.compression != Compression::None || spec.fletcher32) {
    filtered = hdf5::encode_chunk(spec, data, size, &c.filter_mask);
    bytes = filtered.data();
    n = filtered.size();
  }
  if (!w.file) {
    // A fresh random name, created exclusively: never the file of another attempt.
    w.part = journal::new_part_name();
    w.file = w.env->open(path_join(w.dir, w.part), OpenMode::CreateNew);
  }
  if (n) {
    w.file->write(w.size, bytes, n);
    w.file->start_writeback(w.size, n);
  }
  c.part = w.part;
  c.offset = w.size;
  c.size = n;
  c.hash = journal::checksum(bytes, n);
  w.size += n;
  w.chunks.push_back(std::move(c));
}

std::vector<StagedChunk> StagedWriter::finish() {
  Impl& w = *impl_;
  if (w.finished) throw StateError(w.dir, "finish: the staged writer has finished");
  w.finished = true;
  if (w.file) {
    w.file->datasync();
    w.file.reset();
  }
  return std::move(w.chunks);
}

}  // namespace h5tx
