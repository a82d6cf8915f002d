// The transaction stream codec (journal/tx_stream.hpp, formats/tx-stream.md)
// and the small text files of backups and replicas: golden files pin them
// byte for byte; every single damaged byte of a stream is refused; a
// truncated stream is refused naming the transaction it cuts.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "flush/flushed_mark.hpp"
#include "flush/retention.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_stream.hpp"
#include "store/ack_channel.hpp"
#include "store/importer.hpp"

using namespace h5tx;
using namespace h5tx::journal;

namespace {

class StringSink : public ByteSink {
 public:
  void write(const void* data, size_t n) override { s.append(static_cast<const char*>(data), n); }
  void flush() override {}
  std::string s;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string s) : s_(std::move(s)) {}
  size_t read(void* buf, size_t n) override {
    n = std::min(n, s_.size() - pos_);
    std::memcpy(buf, s_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  uint64_t remaining() const override { return s_.size() - pos_; }

 private:
  std::string s_;
  size_t pos_ = 0;
};

// A transaction as a stream carries it: a MANIFEST with one inline chunk.
std::string golden_tx(uint64_t txid, const std::string& chunk) {
  Manifest m;
  m.txid = txid;
  m.commit_time_micros = 1700000000000000ull + txid;
  m.message = "golden " + std::to_string(txid);
  m.metadata["source"] = "test";
  Op create;
  create.kind = OpKind::CreateFile;
  create.file = "a.h5";
  m.ops.push_back(create);
  Op w;
  w.kind = OpKind::WriteChunk;
  w.file = "a.h5";
  w.path = "/d";
  w.shape = {1};
  w.chunk_size = chunk.size();
  w.chunk_hash = checksum(chunk.data(), chunk.size());
  m.ops.push_back(w);
  return encode_manifest(m) + chunk;
}

std::string golden_stream() {
  StringSink sink;
  StreamWriter w(&sink, 0x0f, 0x12);
  w.add(0x10, golden_tx(0x10, "0123456789abcdef"));
  w.add(0x12, golden_tx(0x12, "fedcba9876543210"));
  w.finish(0x12);
  return sink.s;
}

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void check_golden(const std::string& name, const std::string& bytes) {
  const std::string path = std::string(H5TX_SOURCE_DIR) + "/formats/golden/" + name;
  if (std::getenv("H5TX_WRITE_GOLDEN")) std::ofstream(path, std::ios::binary) << bytes;
  INFO(path);
  CHECK(read_file(path) == bytes);
}

// Reads a whole stream; the txids it returned.
std::vector<uint64_t> read_all(const std::string& bytes) {
  StringSource src(bytes);
  StreamReader r(&src, "s");
  std::vector<uint64_t> out;
  StreamTx tx;
  while (r.next(&tx)) out.push_back(tx.txid);
  return out;
}

// Reads `bytes` with every single byte damaged (two ways): each must be
// refused (UnsupportedError only for the version field).
template <typename Read>
void every_flip_refused(const std::string& bytes, Read read) {
  for (size_t i = 0; i < bytes.size(); i++) {
    for (uint8_t flip : {0x01, 0x80}) {
      std::string bad = bytes;
      bad[i] = char(uint8_t(bad[i]) ^ flip);
      INFO("byte " << i << " ^ " << int(flip));
      try {
        read(bad);
        FAIL("a damaged stream was read whole");
      } catch (const CorruptionError&) {
      } catch (const UnsupportedError&) {
        CHECK(i >= 8);  // the version field
        CHECK(i < 12);
      }
    }
  }
}

}  // namespace

TEST_CASE("golden transaction stream is byte for byte the format spec", "[journal]") {
  const std::string bytes = golden_stream();
  check_golden("tx-stream-v1.bin", bytes);
  CHECK(bytes.substr(0, 8) == "H5TXSTM\n");
  CHECK(uint8_t(bytes[8]) == 1);
  CHECK(uint8_t(bytes[16]) == 0x0f);
  CHECK(uint8_t(bytes[24]) == 0x12);
  CHECK(uint8_t(bytes[48]) == 1);  // a transaction record
  CHECK(uint8_t(bytes[48 + 8]) == 0x10);
  StringSource src(bytes);
  StreamReader r(&src, "golden");
  CHECK(r.from() == 0x0f);
  CHECK(r.to() == 0x12);
  StreamTx tx;
  REQUIRE(r.next(&tx));
  CHECK(tx.txid == 0x10);
  CHECK(tx.manifest.message == "golden 16");
  CHECK(tx.manifest_bytes == golden_tx(0x10, "0123456789abcdef"));
  REQUIRE(tx.manifest.ops.size() == 2);
  const Op& w = tx.manifest.ops[1];
  CHECK(tx.manifest_bytes.substr(w.chunk_offset, w.chunk_size) == "0123456789abcdef");
  REQUIRE(r.next(&tx));
  CHECK(tx.txid == 0x12);
  CHECK_FALSE(r.next(&tx));
  CHECK(r.end_txid() == 0x12);
}

TEST_CASE("slot and position lines are byte for byte the format spec", "[journal]") {
  check_golden("slot-v1", retention::encode_slot(0x10042));
  check_golden("position-v1", encode_position(0x10042));
  check_golden("flushed-v1", flushed_mark::encode(0x10042));
  check_golden("ack-v1", encode_ack(0x10042));
  uint64_t t = 0;
  CHECK(retention::decode_slot(retention::encode_slot(0x10042), &t));
  CHECK(t == 0x10042);
  CHECK(retention::decode_slot(retention::encode_slot(0), &t));
  CHECK(t == 0);
  CHECK_FALSE(retention::decode_slot("h5tx-slot 1 txid 00000000000100420\n", &t));
  CHECK_FALSE(retention::decode_slot("h5tx-slot 1 txid 0000000000010042", &t));
  CHECK_FALSE(retention::decode_slot("h5tx-slot 2 txid 0000000000010042\n", &t));
  CHECK(retention::slot_name_problem("backup-1_a") == "");
  CHECK(retention::slot_name_problem("") != "");
  CHECK(retention::slot_name_problem("../x") != "");
  CHECK(retention::slot_name_problem("a.tmp") != "");
  CHECK(retention::slot_name_problem("-a") != "");
}

TEST_CASE("every damaged byte of a stream is refused, never read as data", "[journal]") {
  const std::string bytes = golden_stream();
  REQUIRE(read_all(bytes) == std::vector<uint64_t>{0x10, 0x12});
  every_flip_refused(bytes, [](const std::string& t) { read_all(t); });
}

TEST_CASE("a cut stream is refused naming the transaction it cuts, whole ones before it are returned",
          "[journal]") {
  const std::string bytes = golden_stream();
  const size_t first_end = 48 + 24 + golden_tx(0x10, "0123456789abcdef").size() + 8;
  for (size_t cut = 0; cut < bytes.size(); cut++) {
    StringSource src(bytes.substr(0, cut));
    std::vector<uint64_t> got;
    std::string error;
    try {
      StreamReader r(&src, "s");
      StreamTx tx;
      while (r.next(&tx)) got.push_back(tx.txid);
    } catch (const CorruptionError& e) {
      error = e.what();
    }
    INFO("cut at " << cut << ": " << error);
    REQUIRE(!error.empty());
    const size_t second_end = bytes.size() - 32;  // the trailer is 32 bytes
    CHECK(got.size() == (cut >= second_end ? 2u : cut >= first_end ? 1u : 0u));
    if (cut > first_end + 24 && cut < second_end)
      CHECK(error.find("transaction 0000000000000012") != std::string::npos);
    if (cut > 48 + 24 && cut < first_end)
      CHECK(error.find("transaction 0000000000000010") != std::string::npos);
  }
  // Bytes after the trailer are damage too.
  CHECK_THROWS_AS(read_all(bytes + "x"), CorruptionError);
}

TEST_CASE("a stream writer refuses txids out of order or out of its range", "[journal]") {
  StringSink sink;
  StreamWriter w(&sink, 5, 9);
  CHECK_THROWS_AS(w.add(5, golden_tx(5, "x")), InvalidArgumentError);
  w.add(6, golden_tx(6, "x"));
  CHECK_THROWS_AS(w.add(6, golden_tx(6, "x")), InvalidArgumentError);
  CHECK_THROWS_AS(w.add(10, golden_tx(10, "x")), InvalidArgumentError);
  CHECK_THROWS_AS(w.finish(8), InvalidArgumentError);  // a bounded stream ends at its B
  // A transaction whose MANIFEST names another txid is refused on reading.
  StringSink s2;
  StreamWriter w2(&s2, 0, 3);
  w2.add(3, golden_tx(2, "x"));
  w2.finish(3);
  try {
    read_all(s2.s);
    FAIL("read");
  } catch (const CorruptionError& e) {
    CHECK(std::string(e.what()).find("transaction 0000000000000003") != std::string::npos);
  }
}

namespace {

// A full stream (version 2): two transactions, then the base (h5tx.store
// and one data file), of which the data file already holds 0x10.
std::string golden_full_stream(const std::string& data = "HDF5 file bytes") {
  StringSink sink;
  StreamWriter w(&sink, 0, 0x12, /*full=*/true);
  w.add(0x10, golden_tx(0x10, "0123456789abcdef"));
  w.add(0x12, golden_tx(0x12, "fedcba9876543210"));
  const std::string store = "h5tx-store 3 redo";
  auto from = [](const std::string& s) {
    return [&s](uint64_t off, char* buf, size_t n) { std::memcpy(buf, s.data() + off, n); };
  };
  w.add_file("h5tx.store", store.size(), from(store));
  w.add_file("data/a.h5", data.size(), from(data));
  w.finish_base(0x10);
  w.finish(0x12);
  return sink.s;
}

// Everything a full stream holds: "tx <txid>" and "<name>=<bytes>" lines,
// then "after <replay_after> end <txid>".
std::string read_full(const std::string& bytes) {
  StringSource src(bytes);
  StreamReader r(&src, "s");
  std::string out;
  StreamTx tx;
  while (r.next(&tx)) out += "tx " + std::to_string(tx.txid) + "\n";
  StreamFile f;
  std::string piece;
  while (r.next_file(&f)) {
    std::string content;
    while (r.next_piece(&piece)) content += piece;
    if (content.size() != f.size) throw std::logic_error("file size");
    out += f.name + "=" + (content.size() < 100 ? content : std::to_string(content.size())) + "\n";
  }
  return out + "after " + std::to_string(r.replay_after()) + " end " + std::to_string(r.end_txid());
}

}  // namespace

TEST_CASE("golden full stream is byte for byte the format spec", "[journal]") {
  const std::string bytes = golden_full_stream();
  check_golden("tx-stream-v2-full.bin", bytes);
  CHECK(uint8_t(bytes[8]) == 2);   // version
  CHECK(uint8_t(bytes[12]) == 1);  // flags: full
  CHECK(read_full(bytes) ==
        "tx 16\ntx 18\nh5tx.store=h5tx-store 3 redo\ndata/a.h5=HDF5 file bytes\nafter 16 end 18");
  // The stream of transactions only is still version 1.
  CHECK(uint8_t(golden_stream()[8]) == 1);
  // A full stream's base is skipped by next(): it returns false there.
  StringSource src(bytes);
  StreamReader r(&src, "s");
  CHECK(r.full());
  StreamTx tx;
  CHECK(r.next(&tx));
  CHECK(r.next(&tx));
  CHECK_FALSE(r.next(&tx));
  CHECK_FALSE(r.next(&tx));
  // Files not read piece by piece are still read and checked.
  StreamFile f;
  CHECK(r.next_file(&f));
  CHECK(r.next_file(&f));
  CHECK(f.name == "data/a.h5");
  CHECK_FALSE(r.next_file(&f));
  CHECK(r.end_txid() == 0x12);
}

TEST_CASE("a full stream carries files of several pieces and empty ones", "[journal]") {
  std::string big(2 * kStreamFilePiece + 12345, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = char(i * 7 + i / 1000);
  CHECK(read_full(golden_full_stream(big)) == "tx 16\ntx 18\nh5tx.store=h5tx-store 3 redo\ndata/a.h5=" +
                                                  std::to_string(big.size()) + "\nafter 16 end 18");
  CHECK(read_full(golden_full_stream("")) ==
        "tx 16\ntx 18\nh5tx.store=h5tx-store 3 redo\ndata/a.h5=\nafter 16 end 18");
  // A piece damaged in the middle of a big file is refused naming the file,
  // the offset in it, and the stream offset.
  std::string bad = golden_full_stream(big);
  const size_t at = bad.size() - 32 - 32 - 8 - 100;  // in the last piece of data/a.h5
  bad[at] = char(bad[at] ^ 4);
  try {
    read_full(bad);
    FAIL("read");
  } catch (const CorruptionError& e) {
    const std::string m = e.what();
    INFO(m);
    CHECK(m.find("base file data/a.h5, piece at offset " + std::to_string(2 * kStreamFilePiece)) !=
          std::string::npos);
    CHECK(m.find("stream offset ") != std::string::npos);
    CHECK(m.find("checksum mismatch") != std::string::npos);
  }
}

TEST_CASE("every damaged or cut byte of a full stream is refused", "[journal]") {
  const std::string bytes = golden_full_stream();
  every_flip_refused(bytes, [](const std::string& t) { read_full(t); });
  for (size_t cut = 0; cut < bytes.size(); cut++) {
    INFO("cut at " << cut);
    CHECK_THROWS_AS(read_full(bytes.substr(0, cut)), CorruptionError);
  }
  CHECK_THROWS_AS(read_full(bytes + "x"), CorruptionError);
}

TEST_CASE("a full stream writer keeps the base's rules", "[journal]") {
  StringSink sink;
  CHECK_THROWS_AS(StreamWriter(&sink, 3, 9, true), InvalidArgumentError);  // a full stream starts at 0
  StreamWriter w(&sink, 0, 9, true);
  auto none = [](uint64_t, char*, size_t) {};
  CHECK_THROWS_AS(w.finish(9), InvalidArgumentError);                       // no base yet
  CHECK_THROWS_AS(w.add_file("data/a.h5", 0, none), InvalidArgumentError);  // h5tx.store first
  w.add_file("h5tx.store", 0, none);
  CHECK_THROWS_AS(w.add_file("data/../x", 0, none), InvalidArgumentError);
  CHECK_THROWS_AS(w.add_file("journal/x", 0, none), InvalidArgumentError);
  w.add_file("data/b.h5", 0, none);
  CHECK_THROWS_AS(w.add_file("data/a.h5", 0, none), InvalidArgumentError);  // in name order
  CHECK_THROWS_AS(w.add(5, golden_tx(5, "x")), InvalidArgumentError);       // transactions come first
  CHECK_THROWS_AS(w.finish_base(10), InvalidArgumentError);                 // past the stream
  w.finish_base(9);
  w.finish(9);
  CHECK(read_full(sink.s) == "h5tx.store=\ndata/b.h5=\nafter 9 end 9");
  // Stream-file names: what a reader accepts.
  CHECK(stream_file_name_problem("h5tx.store", "") == "");
  CHECK(stream_file_name_problem("data/a.h5", "") != "");
  CHECK(stream_file_name_problem("data/a.h5", "h5tx.store") == "");
  CHECK(stream_file_name_problem("data/a.h5", "data/a.h5") != "");
  CHECK(stream_file_name_problem("data/", "h5tx.store") != "");
}
