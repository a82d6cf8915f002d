// Writing redo transaction directories.
#include "journal/tx_writer.hpp"

#include <cstdio>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace journal {

TxWriter::TxWriter(Env* env, std::string journal_dir, uint64_t temp_id)
    : env_(env),
      journal_dir_(std::move(journal_dir)),
      dir_(path_join(journal_dir_, tx_dir_name(temp_id, TxState::Temp))) {}

TxWriter::~TxWriter() = default;

void TxWriter::ensure_dir() {
  if (created_) return;
  env_->create_dir(dir_);
  created_ = true;
}

std::string TxWriter::write_chunk_file(const void* data, size_t n, uint64_t* hash) {
  ensure_dir();
  char name[32];
  std::snprintf(name, sizeof name, "chunk_%08llu", static_cast<unsigned long long>(next_chunk_++));
  auto f = env_->open(path_join(dir_, name), OpenMode::CreateNew);
  if (n) f->write(0, data, n);
  f->datasync();
  *hash = checksum(data, n);
  return name;
}

std::string TxWriter::read_chunk_file(const std::string& name, size_t n) {
  std::string path = path_join(dir_, name);
  std::string s = env_->read_all(path);
  if (s.size() != n) throw IoError(path, "spilled chunk has " + std::to_string(s.size()) +
                                             " bytes, expected " + std::to_string(n));
  return s;
}

void TxWriter::remove_chunk_file(const std::string& name) {
  env_->remove_file(path_join(dir_, name));
}

int TxWriter::seal(const Manifest& m) {
  ensure_dir();
  std::string bytes = encode_manifest(m);
  auto f = env_->open(path_join(dir_, kManifestName), OpenMode::CreateTrunc);
  f->write(0, bytes.data(), bytes.size());
  f->datasync();
  env_->sync_dir(dir_);
  return 2;
}

std::string TxWriter::publish(uint64_t txid) {
  std::string done = path_join(journal_dir_, tx_dir_name(txid, TxState::Done));
  env_->rename(dir_, done);
  published_ = true;
  dir_ = done;
  return done;
}

void TxWriter::discard() {
  if (!created_ || published_) return;
  created_ = false;
  env_->remove_flat_dir(dir_);
}

}  // namespace journal
}  // namespace h5tx
