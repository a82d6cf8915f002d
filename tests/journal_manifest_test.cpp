// The redo MANIFEST codec: the golden file pins the format byte for byte;
// the decoder rejects truncated, garbage and bit-flipped manifests with a
// CorruptionError naming the file.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "journal/manifest.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "journal/tx_writer.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace h5tx::journal;

namespace {

// Fixed inputs of the golden manifest: one operation of every kind.
Manifest golden_manifest() {
  Manifest m;
  m.txid = 0x0123456789abcdefULL;
  m.commit_time_micros = 1700000000123456ULL;
  m.message = "ingest run 7";
  m.metadata["source"] = "detector-A";
  m.metadata["run"] = "7";
  Op f;
  f.kind = OpKind::CreateFile;
  f.file = "vol.h5";
  m.ops.push_back(f);
  Op d;
  d.kind = OpKind::CreateDataset;
  d.file = "vol.h5";
  d.path = "/raw/a";
  d.spec.dtype = DType::U16;
  d.spec.shape = {100, 64};
  d.spec.max_shape = {kUnlimited, 64};
  d.spec.chunk = {10, 64};
  d.spec.fill_value = 7;
  d.spec.compression = Compression::ShuffleDeflate;
  d.spec.deflate_level = 4;
  d.spec.fletcher32 = true;
  m.ops.push_back(d);
  Op e;
  e.kind = OpKind::ExtendDataset;
  e.file = "vol.h5";
  e.path = "/raw/a";
  e.shape = {200, 64};
  m.ops.push_back(e);
  Op a;
  a.kind = OpKind::SetAttribute;
  a.file = "vol.h5";
  a.path = "/raw/a";
  a.name = "gain";
  a.attr = AttributeValue::scalar<double>(1.5);
  m.ops.push_back(a);
  Op s;
  s.kind = OpKind::SetAttribute;
  s.file = "vol.h5";
  s.path = "/";
  s.name = "title";
  s.attr = AttributeValue::string("beamline");
  m.ops.push_back(s);
  Op c;
  c.kind = OpKind::WriteChunk;
  c.file = "vol.h5";
  c.path = "/raw/a";
  c.shape = {3, 0};
  c.filter_mask = 0;
  c.chunk_file = "chunk_00000000";
  c.chunk_size = 1234;
  c.chunk_hash = 0xfedcba9876543210ULL;
  m.ops.push_back(c);
  return m;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_corrupt(const std::string& bytes, const std::string& name) {
  try {
    decode_manifest(bytes, name);
    FAIL("decoded a corrupt manifest");
  } catch (const CorruptionError& e) {
    CHECK(e.path() == name);
  }
}

}  // namespace

TEST_CASE("golden MANIFEST is byte for byte the format spec", "[journal]") {
  std::string bytes = encode_manifest(golden_manifest());
  std::string golden_path = std::string(H5TX_SOURCE_DIR) + "/formats/golden/redo-manifest-v1.bin";
  if (std::getenv("H5TX_WRITE_GOLDEN")) {
    std::ofstream(golden_path, std::ios::binary) << bytes;
  }
  std::string golden = read_file(golden_path);
  REQUIRE(golden.size() == bytes.size());
  CHECK(golden == bytes);
  // Spot checks of the spec: magic, version, txid little-endian, total length.
  CHECK(bytes.substr(0, 8) == std::string("H5TXRDO\n"));
  CHECK(uint8_t(bytes[8]) == 1);
  CHECK(uint8_t(bytes[16]) == 0xef);
  CHECK(size_t(uint8_t(bytes[32]) + 256 * uint8_t(bytes[33])) == bytes.size());
}

TEST_CASE("MANIFEST round-trips every field", "[journal]") {
  Manifest m = golden_manifest();
  Manifest r = decode_manifest(encode_manifest(m), "MANIFEST");
  CHECK(r.txid == m.txid);
  CHECK(r.commit_time_micros == m.commit_time_micros);
  CHECK(r.message == m.message);
  CHECK(r.metadata == m.metadata);
  REQUIRE(r.ops.size() == m.ops.size());
  CHECK(r.ops[1].spec.shape == m.ops[1].spec.shape);
  CHECK(r.ops[1].spec.max_shape == m.ops[1].spec.max_shape);
  CHECK(r.ops[1].spec.chunk == m.ops[1].spec.chunk);
  CHECK(r.ops[1].spec.fill_value == 7);
  CHECK(r.ops[1].spec.compression == Compression::ShuffleDeflate);
  CHECK(r.ops[2].shape == Shape{200, 64});
  CHECK(r.ops[3].attr.bytes == m.ops[3].attr.bytes);
  CHECK(r.ops[4].attr.is_string);
  CHECK(r.ops[4].attr.text == "beamline");
  CHECK(r.ops[5].shape == Shape{3, 0});
  CHECK(r.ops[5].chunk_file == "chunk_00000000");
  CHECK(r.ops[5].chunk_size == 1234);
  CHECK(r.ops[5].chunk_hash == 0xfedcba9876543210ULL);
  CHECK(r.chunk_bytes() == 1234);
}

TEST_CASE("MANIFEST decoder rejects truncation and garbage and bit flips", "[journal]") {
  std::string good = encode_manifest(golden_manifest());
  for (size_t n = 0; n < good.size(); n++) expect_corrupt(good.substr(0, n), "T/MANIFEST");
  expect_corrupt(good + "x", "T/MANIFEST");
  expect_corrupt(std::string(good.size(), '\0'), "T/MANIFEST");
  expect_corrupt("garbage garbage garbage garbage garbage garbage garbage", "T/MANIFEST");
  for (size_t i = 0; i < good.size(); i++) {
    for (int bit : {0, 7}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      expect_corrupt(bad, "T/MANIFEST");
    }
  }
  // A structurally bad body with a valid checksum is still rejected (strict parse).
  Manifest m = golden_manifest();
  m.ops[5].chunk_file = "../escape";
  expect_corrupt(encode_manifest(m), "T/MANIFEST");
  m = golden_manifest();
  m.ops[1].spec.chunk = {0, 64};
  expect_corrupt(encode_manifest(m), "T/MANIFEST");
}

TEST_CASE("transaction directory names", "[journal]") {
  CHECK(tx_dir_name(0x1f, TxState::Done) == "working_000000000000001f_done");
  uint64_t txid;
  TxState st;
  REQUIRE(parse_tx_dir_name("working_00000000000000ff_flushed", &txid, &st));
  CHECK(txid == 255);
  CHECK(st == TxState::Flushed);
  CHECK_FALSE(parse_tx_dir_name("working_00000000000000FF_done", &txid, &st));
  CHECK_FALSE(parse_tx_dir_name("working_00000000000000ff_dome", &txid, &st));
  REQUIRE(parse_undo_dir_name("undo_0000000000000010", &txid));
  CHECK(txid == 16);
}

TEST_CASE("TxWriter writes a directory that verifies; damage names the file", "[journal]") {
  h5tx_test::TempDir dir("journal");
  Env* env = Env::posix();
  std::string jdir = dir.path();
  TxWriter w(env, jdir, 5);
  Manifest m;
  m.txid = 9;
  std::string payload(1000, 'q');
  Op op;
  op.kind = OpKind::WriteChunk;
  op.file = "a.h5";
  op.path = "/d";
  op.shape = {0};
  op.chunk_file = w.write_chunk_file(payload.data(), payload.size(), &op.chunk_hash);
  op.chunk_size = payload.size();
  m.ops.push_back(op);
  CHECK(w.seal(m) == 2);
  std::string done = w.publish(9);
  CHECK(done == jdir + "/working_0000000000000009_done");
  JournalListing l = list_journal(*env, jdir);
  CHECK(l.done == std::vector<uint64_t>{9});
  Manifest r = verify_transaction(*env, done, 9);
  CHECK(read_chunk_file(*env, done, r.ops[0]) == payload);
  CHECK_THROWS_AS(verify_transaction(*env, done, 8), CorruptionError);
  // Flip one byte of the chunk file.
  std::string chunk_path = done + "/" + op.chunk_file;
  {
    auto f = env->open(chunk_path, OpenMode::ReadWrite);
    f->write(10, "x", 1);
  }
  try {
    verify_transaction(*env, done, 9);
    FAIL("verified a damaged chunk");
  } catch (const CorruptionError& e) {
    CHECK(e.path() == chunk_path);
  }
}
