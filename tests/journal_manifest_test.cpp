// The redo MANIFEST codec: the golden files pin the format byte for byte
// (version 2 is written, version 1 still read); the decoder rejects
// truncated, garbage and bit-flipped manifests with a CorruptionError naming
// the file; damaged chunk copies are caught when read.
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
  c.chunk_file = "";  // inline, at offset 0 of the inline data
  c.chunk_size = 1234;
  c.chunk_hash = 0xfedcba9876543210ULL;
  m.ops.push_back(c);
  Op sp = c;
  sp.shape = {4, 0};
  sp.chunk_file = "spill";
  sp.chunk_offset = 4096;
  sp.chunk_size = 1000;
  sp.chunk_hash = 0x0011223344556677ULL;
  m.ops.push_back(sp);
  return m;
}

// The golden MANIFEST file: the record, then the inline chunk's 1234 bytes.
std::string golden_inline_data() {
  std::string d(1234, '\0');
  for (size_t i = 0; i < d.size(); i++) d[i] = static_cast<char>(i * 7 + 3);
  return d;
}

std::string golden_file() {
  Manifest m = golden_manifest();
  return encode_manifest(m) + golden_inline_data();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// formats/golden/<name>, (re)written from `bytes` when H5TX_WRITE_GOLDEN is
// set; the test then checks that the file holds exactly `bytes`.
std::string golden_bytes(const std::string& name, const std::string& bytes) {
  std::string path = std::string(H5TX_SOURCE_DIR) + "/formats/golden/" + name;
  if (std::getenv("H5TX_WRITE_GOLDEN")) std::ofstream(path, std::ios::binary) << bytes;
  return read_file(path);
}

std::string encode(Manifest m) {
  return encode_manifest(m);
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
  std::string bytes = golden_file();
  std::string golden = golden_bytes("redo-manifest-v2.bin", bytes);
  REQUIRE(golden.size() == bytes.size());
  CHECK(golden == bytes);
  // Spot checks of the spec: magic, version, txid little-endian, record
  // length, inline data after the record.
  Manifest m = golden_manifest();
  std::string record = encode_manifest(m);
  CHECK(bytes.substr(0, 8) == std::string("H5TXRDO\n"));
  CHECK(uint8_t(bytes[8]) == 2);
  CHECK(uint8_t(bytes[16]) == 0xef);
  CHECK(size_t(uint8_t(bytes[32]) + 256 * uint8_t(bytes[33])) == record.size());
  CHECK(m.record_size == record.size());
  CHECK(m.inline_bytes == 1234);
  CHECK(bytes.substr(record.size()) == golden_inline_data());
}

TEST_CASE("version 1 MANIFESTs (one file per chunk) are still read", "[journal]") {
  std::string path = std::string(H5TX_SOURCE_DIR) + "/formats/golden/redo-manifest-v1.bin";
  Manifest r = decode_manifest(read_file(path), path);
  Manifest m = golden_manifest();
  CHECK(r.version == 1);
  CHECK(r.txid == m.txid);
  CHECK(r.commit_time_micros == m.commit_time_micros);
  CHECK(r.message == m.message);
  CHECK(r.metadata == m.metadata);
  REQUIRE(r.ops.size() == 6);
  CHECK(r.ops[1].spec.chunk == m.ops[1].spec.chunk);
  CHECK(r.ops[5].chunk_file == "chunk_00000000");
  CHECK(r.ops[5].chunk_offset == 0);
  CHECK(r.ops[5].chunk_size == 1234);
  CHECK(r.ops[5].chunk_hash == 0xfedcba9876543210ULL);
  CHECK(r.inline_bytes == 0);
  std::string v1 = read_file(path);
  expect_corrupt(v1 + "x", "T/MANIFEST");  // a version 1 record is the whole file
}

TEST_CASE("MANIFEST round-trips every field", "[journal]") {
  Manifest m = golden_manifest();
  Manifest r = decode_manifest(golden_file(), "MANIFEST");
  CHECK(r.version == 2);
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
  // Decoded locations are absolute: the inline chunk is in the MANIFEST
  // right after the record.
  CHECK(r.ops[5].chunk_file == "MANIFEST");
  CHECK(r.ops[5].chunk_offset == r.record_size);
  CHECK(r.ops[5].chunk_size == 1234);
  CHECK(r.ops[5].chunk_hash == 0xfedcba9876543210ULL);
  CHECK(r.ops[6].chunk_file == "spill");
  CHECK(r.ops[6].chunk_offset == 4096);
  CHECK(r.chunk_bytes() == 2234);
  CHECK(r.inline_bytes == 1234);
}

TEST_CASE("a MANIFEST that deletes an attribute is version 3, version 2 has no such operation", "[journal]") {
  Manifest m;
  m.txid = 7;
  Op a;
  a.kind = OpKind::DeleteAttribute;
  a.file = "vol.h5";
  a.path = "/raw/a";
  a.name = "gain";
  m.ops.push_back(a);
  std::string bytes = encode_manifest(m);
  CHECK(m.version == 3);
  Manifest r = decode_manifest(bytes, "MANIFEST");
  CHECK(r.version == 3);
  REQUIRE(r.ops.size() == 1);
  CHECK(r.ops[0].kind == OpKind::DeleteAttribute);
  CHECK(r.ops[0].path == "/raw/a");
  CHECK(r.ops[0].name == "gain");
  // The same operation under version 2 (as an older writer never wrote it)
  // is an unknown operation kind: patch the version, fix the checksum.
  std::string v2 = bytes;
  v2[8] = 2;
  uint64_t sum = checksum(v2.data(), v2.size() - 8);
  for (int i = 0; i < 8; i++) v2[v2.size() - 8 + i] = char((sum >> (8 * i)) & 0xff);
  try {
    decode_manifest(v2, "MANIFEST");
    FAIL("version 2 with a delete-attribute operation was accepted");
  } catch (const CorruptionError& e) {
    CHECK(std::string(e.what()).find("unknown operation kind 6") != std::string::npos);
  }
  // Without a delete the version stays 2 (older builds read it).
  Manifest plain = golden_manifest();
  encode_manifest(plain);
  CHECK(plain.version == 2);
}

// The golden manifest plus a delete_attribute: the version-3 golden file.
std::string golden_v3_file() {
  Manifest m = golden_manifest();
  Op del;
  del.kind = OpKind::DeleteAttribute;
  del.file = "vol.h5";
  del.path = "/";
  del.name = "obsolete";
  m.ops.insert(m.ops.begin() + 5, del);  // before the chunks: the inline data stays at the end
  return encode_manifest(m) + golden_inline_data();
}

TEST_CASE("golden version-3 MANIFEST (it deletes an attribute) is byte for byte the format spec",
          "[journal]") {
  std::string bytes = golden_v3_file();
  std::string golden = golden_bytes("redo-manifest-v3.bin", bytes);
  REQUIRE(golden.size() == bytes.size());
  CHECK(golden == bytes);
  CHECK(uint8_t(bytes[8]) == 3);
  // It reads back with the delete where it was written.
  Manifest r = decode_manifest(golden, "MANIFEST");
  CHECK(r.version == 3);
  REQUIRE(r.ops.size() == 8);
  CHECK(r.ops[5].kind == OpKind::DeleteAttribute);
  CHECK(r.ops[5].path == "/");
  CHECK(r.ops[5].name == "obsolete");
  CHECK(r.ops[6].chunk_size == 1234);
  CHECK(r.inline_bytes == 1234);
  CHECK(golden.substr(r.record_size) == golden_inline_data());
}

TEST_CASE("MANIFEST decoder rejects truncation and garbage and bit flips", "[journal]") {
  std::string good = golden_file();
  size_t record = decode_manifest(good, "M").record_size;
  for (size_t n = 0; n < good.size(); n++) expect_corrupt(good.substr(0, n), "T/MANIFEST");
  expect_corrupt(good + "x", "T/MANIFEST");
  expect_corrupt(std::string(good.size(), '\0'), "T/MANIFEST");
  expect_corrupt("garbage garbage garbage garbage garbage garbage garbage", "T/MANIFEST");
  // Every bit flip in the record (the inline data is checked per chunk when
  // read: see the TxWriter test).
  for (size_t i = 0; i < record; i++) {
    for (int bit : {0, 7}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      expect_corrupt(bad, "T/MANIFEST");
    }
  }
  // A structurally bad body with a valid checksum is still rejected (strict parse).
  Manifest m = golden_manifest();
  m.ops[6].chunk_file = "../escape";
  expect_corrupt(encode(m) + golden_inline_data(), "T/MANIFEST");
  m = golden_manifest();
  m.ops[1].spec.chunk = {0, 64};
  expect_corrupt(encode(m) + golden_inline_data(), "T/MANIFEST");
  m = golden_manifest();
  m.ops[6].chunk_offset = UINT64_MAX - 10;
  expect_corrupt(encode(m) + golden_inline_data(), "T/MANIFEST");
  // The encoder refuses inline chunks that do not follow one another.
  m = golden_manifest();
  m.ops[5].chunk_offset = 8;
  CHECK_THROWS_AS(encode_manifest(m), InvalidArgumentError);
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

TEST_CASE("TxWriter writes a directory that verifies, damage names the file", "[journal]") {
  h5tx_test::TempDir dir("journal");
  Env* env = Env::posix();
  std::string jdir = dir.path();
  TxWriter w(env, jdir, 5);
  Manifest m;
  m.txid = 9;
  std::vector<uint8_t> small(1000, 'q'), spilled(3000, 's'), second(500, 'r');
  Op op;
  op.kind = OpKind::WriteChunk;
  op.file = "a.h5";
  op.path = "/d";
  op.shape = {0};
  Op sp = op;
  sp.shape = {1};
  w.spill(spilled.data(), spilled.size(), &sp);
  CHECK(w.read_spilled(sp) == std::string(spilled.begin(), spilled.end()));
  m.ops.push_back(op);
  w.add_inline(small, &m.ops.back());
  m.ops.push_back(sp);
  m.ops.push_back(op);
  m.ops.back().shape = {2};
  w.add_inline(second, &m.ops.back());
  CHECK(w.seal(m, {&small, &second}) == 3);  // spill file, MANIFEST, directory
  // seal() leaves the ops pointing where readers find them.
  CHECK(m.ops[0].chunk_file == "MANIFEST");
  CHECK(m.ops[0].chunk_offset == m.record_size);
  std::string done = w.publish(9);
  CHECK(done == jdir + "/working_0000000000000009_done");
  JournalListing l = list_journal(*env, jdir);
  CHECK(l.done == std::vector<uint64_t>{9});
  CHECK(env->list_dir(done) == std::vector<std::string>{"MANIFEST", "spill"});
  Manifest r = verify_transaction(*env, done, 9);
  REQUIRE(r.ops.size() == 3);
  CHECK(read_chunk_file(*env, done, r.ops[0]) == std::string(small.begin(), small.end()));
  CHECK(read_chunk_file(*env, done, r.ops[1]) == std::string(spilled.begin(), spilled.end()));
  CHECK(read_chunk_file(*env, done, r.ops[2]) == std::string(second.begin(), second.end()));
  CHECK(read_manifest(*env, done, 9).ops[2].chunk_offset == m.ops[2].chunk_offset);
  CHECK_THROWS_AS(verify_transaction(*env, done, 8), CorruptionError);
  // One flipped byte in an inline chunk, then in the spill file: each is
  // found and names the file that holds it.
  for (const std::string name : {"MANIFEST", "spill"}) {
    std::string path = done + "/" + name;
    uint64_t at = name == "MANIFEST" ? r.ops[2].chunk_offset + 10 : 10;
    char c;
    auto f = env->open(path, OpenMode::ReadWrite);
    f->read(at, &c, 1);
    char x = static_cast<char>(c ^ 1);
    f->write(at, &x, 1);
    try {
      verify_transaction(*env, done, 9);
      FAIL("verified a damaged chunk");
    } catch (const CorruptionError& e) {
      CHECK(e.path() == path);
    }
    f->write(at, &c, 1);
  }
  CHECK(verify_transaction(*env, done, 9).ops.size() == 3);
}

// A MANIFEST of a staged transaction (formats/redo-manifest.md, "Staged
// parts"): an ordinary version-2 MANIFEST whose chunk copies are in part
// files written by other processes. Pinned byte for byte, and decoded as
// every version-2 reader decodes it.
TEST_CASE("golden staged MANIFEST: chunk copies in part files, still version 2", "[journal]") {
  Manifest m;
  m.txid = 0x42;
  m.commit_time_micros = 1800000000000000ULL;
  m.message = "h5tx.dask atomic store: 3 chunks of vol.h5:/x";
  const char* parts[] = {"part-0123456789abcdef0123456789abcdef", "part-fedcba9876543210fedcba9876543210"};
  for (uint64_t i = 0; i < 3; i++) {
    Op c;
    c.kind = OpKind::WriteChunk;
    c.file = "vol.h5";
    c.path = "/x";
    c.shape = {i, 0};
    c.chunk_file = parts[i % 2];
    c.chunk_offset = (i / 2) * 4096;
    c.chunk_size = 4096;
    c.chunk_hash = 0x1000 + i;
    m.ops.push_back(c);
  }
  std::string bytes = encode_manifest(m);
  std::string golden = golden_bytes("redo-manifest-v2-staged.bin", bytes);
  REQUIRE(golden.size() == bytes.size());
  CHECK(golden == bytes);
  Manifest d = decode_manifest(golden, "MANIFEST");
  CHECK(d.version == 2);
  CHECK(d.inline_bytes == 0);
  REQUIRE(d.ops.size() == 3);
  CHECK(d.ops[1].chunk_file == parts[1]);
  CHECK(d.ops[2].chunk_file == parts[0]);
  CHECK(d.ops[2].chunk_offset == 4096);
  CHECK(d.ops[2].chunk_hash == 0x1002);
}
