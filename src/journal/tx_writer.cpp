// Writing redo transaction directories.
#include "journal/tx_writer.hpp"

#include <cstdio>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace journal {

TxWriter::TxWriter(Env* env, std::string journal_dir, uint64_t temp_id, std::string spare)
    : env_(env),
      journal_dir_(std::move(journal_dir)),
      dir_(path_join(journal_dir_, tx_dir_name(temp_id, TxState::Temp))),
      spare_(std::move(spare)) {}

TxWriter::~TxWriter() = default;

void TxWriter::ensure_dir() {
  if (created_) return;
  if (!spare_.empty()) {
    // A _flushed directory is garbage to recovery, and so is a _temp one:
    // the rename needs no sync.
    env_->rename(spare_, dir_);
    reused_ = true;
  } else {
    env_->create_dir(dir_);
    new_entries_ = true;
  }
  created_ = true;
}

std::unique_ptr<File> TxWriter::open_file(const char* name, OpenMode fresh) {
  std::string path = path_join(dir_, name);
  if (reused_ && env_->exists(path)) return env_->open(path, OpenMode::ReadWrite);
  new_entries_ = true;
  return env_->open(path, fresh);
}

void TxWriter::spill(const void* data, size_t n, Op* op) {
  ensure_dir();
  // A recycled directory's spill file is overwritten from offset 0; bytes
  // past what this transaction writes are never referred to.
  if (!spill_) spill_ = open_file(kSpillFileName, OpenMode::CreateNew);
  if (n) {
    spill_->write(spill_size_, data, n);
    spill_->start_writeback(spill_size_, n);  // a hint: the commit's sync has less to wait for
  }
  op->chunk_file = kSpillFileName;
  op->chunk_offset = spill_size_;
  op->chunk_size = n;
  op->chunk_hash = checksum(data, n);
  spill_size_ += n;
}

std::string TxWriter::read_spilled(const Op& op) {
  std::string s(op.chunk_size, '\0');
  size_t got = op.chunk_size ? spill_->read(op.chunk_offset, &s[0], s.size()) : 0;
  if (got != s.size())
    throw IoError(spill_->path(), "spilled chunk at offset " + std::to_string(op.chunk_offset) + " has " +
                                      std::to_string(got) + " bytes, expected " + std::to_string(s.size()));
  return s;
}

void TxWriter::add_inline(const std::vector<uint8_t>& data, Op* op) {
  op->chunk_file.clear();
  op->chunk_offset = inline_size_;
  op->chunk_size = data.size();
  op->chunk_hash = checksum(data.data(), data.size());
  inline_size_ += data.size();
}

int TxWriter::seal(Manifest& m, const std::vector<const std::vector<uint8_t>*>& inline_data) {
  ensure_dir();
  std::string record = encode_manifest(m);
  record_ = record;
  // A recycled MANIFEST is overwritten in place (its blocks stay allocated,
  // so its data sync need not commit the file system's journal) and cut to
  // the new length; the directory is _temp until the rename, so a torn
  // overwrite is garbage to recovery like any unfinished commit.
  auto f = open_file(kManifestName, OpenMode::CreateTrunc);
  uint64_t old_size = f->size();
  // Small transactions go out in one write; large inline chunks are written
  // where they are, without another copy.
  constexpr size_t kGather = 1 << 20;
  std::string buf = std::move(record);
  uint64_t at = 0;
  for (const auto* d : inline_data) {
    if (buf.size() + d->size() <= kGather) {
      buf.append(reinterpret_cast<const char*>(d->data()), d->size());
      continue;
    }
    if (!buf.empty()) f->write(at, buf.data(), buf.size());
    at += buf.size();
    buf.clear();
    if (!d->empty()) f->write(at, d->data(), d->size());
    at += d->size();
  }
  if (!buf.empty()) f->write(at, buf.data(), buf.size());
  at += buf.size();
  if (at != m.record_size + m.inline_bytes)
    throw InvalidArgumentError(f->path(), "inline chunk data does not match the MANIFEST's layout");
  if (old_size > at) f->truncate(at);
  int syncs = 0;
  if (spill_) {
    spill_->datasync();
    syncs++;
  }
  f->datasync();
  syncs++;
  if (new_entries_) {
    env_->sync_dir(dir_);
    syncs++;
  }
  spill_.reset();
  locate_inline_chunks(m);
  return syncs;
}

int TxWriter::retxid(Manifest& m, uint64_t txid) {
  if (record_.size() < 48) throw InvalidArgumentError(dir_, "retxid before seal");
  for (int i = 0; i < 8; i++) record_[16 + i] = static_cast<char>((txid >> (8 * i)) & 0xff);
  uint64_t sum = checksum(record_.data(), record_.size() - 8);
  for (int i = 0; i < 8; i++) record_[record_.size() - 8 + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  auto f = env_->open(path_join(dir_, kManifestName), OpenMode::ReadWrite);
  f->write(0, record_.data(), record_.size());
  f->datasync();
  m.txid = txid;
  return 1;
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
  spill_.reset();
  env_->remove_flat_dir(dir_);
}

}  // namespace journal
}  // namespace h5tx
