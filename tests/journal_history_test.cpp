// History segment and OLDEST codecs (formats/history.md): golden files pin
// them byte for byte; damaged segments are refused naming the file; a chunk
// copy that fails its checksum is caught when read.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "journal/history_segment.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace h5tx::journal;

namespace {

std::string golden_path(const std::string& name) {
  return std::string(H5TX_SOURCE_DIR) + "/formats/golden/" + name;
}

// One record of every kind, present and absent, over two transactions.
std::string write_golden_segment(const std::string& dir) {
  SegmentWriter w(*Env::posix(), dir);
  HistorySegment seg;
  seg.first_txid = 0x10;
  seg.last_txid = 0x11;
  seg.txs = {{0x10, 1700000000000001ULL}, {0x11, 1700000000000002ULL}};
  HistoryRecord f;
  f.to_txid = 0x10;
  f.op.kind = OpKind::CreateFile;
  f.op.file = "vol.h5";
  seg.records.push_back(f);
  HistoryRecord d;
  d.to_txid = 0x11;
  d.present = true;
  d.op.kind = OpKind::CreateDataset;
  d.op.file = "vol.h5";
  d.op.path = "/raw/a";
  d.op.spec.dtype = DType::U16;
  d.op.spec.shape = {20, 64};
  d.op.spec.max_shape = {kUnlimited, 64};
  d.op.spec.chunk = {10, 64};
  d.op.spec.fill_value = 7;
  seg.records.push_back(d);
  HistoryRecord a;
  a.to_txid = 0x11;
  a.present = true;
  a.op.kind = OpKind::SetAttribute;
  a.op.file = "vol.h5";
  a.op.path = "/raw/a";
  a.op.name = "units";
  a.op.attr = AttributeValue::string("counts");
  seg.records.push_back(a);
  HistoryRecord na;
  na.to_txid = 0x11;
  na.op.kind = OpKind::DeleteAttribute;
  na.op.file = "vol.h5";
  na.op.path = "/";
  na.op.name = "note";
  seg.records.push_back(na);
  HistoryRecord c;
  c.to_txid = 0x11;
  c.present = true;
  c.op.kind = OpKind::WriteChunk;
  c.op.file = "vol.h5";
  c.op.path = "/raw/a";
  c.op.shape = {1, 0};
  c.op.filter_mask = 0;
  std::string bytes(100, '\0');
  for (size_t i = 0; i < bytes.size(); i++) bytes[i] = char(i * 3 + 1);
  w.add_chunk(bytes, &c.op);
  seg.records.push_back(c);
  HistoryRecord nc;
  nc.to_txid = 0x11;
  nc.op.kind = OpKind::WriteChunk;
  nc.op.file = "vol.h5";
  nc.op.path = "/raw/a";
  nc.op.shape = {0, 0};
  seg.records.push_back(nc);
  return w.finish(seg);
}

}  // namespace

TEST_CASE("history segment: golden file, round trip") {
  h5tx_test::TempDir dir;
  std::string path = write_golden_segment(dir.path());
  CHECK(path_basename(path) == "0000000000000010-0000000000000011.seg");
  std::string bytes = Env::posix()->read_all(path);
  if (std::getenv("H5TX_WRITE_GOLDEN"))
    Env::posix()->write_file_atomic(golden_path("history-segment-v1.bin"), bytes);
  CHECK(bytes == Env::posix()->read_all(golden_path("history-segment-v1.bin")));
  HistorySegment seg = read_segment(*Env::posix(), golden_path("history-segment-v1.bin"));
  REQUIRE(seg.records.size() == 6);
  CHECK(seg.txs.size() == 2);
  CHECK_FALSE(seg.records[0].present);
  CHECK(seg.records[1].op.spec.shape == Shape{20, 64});
  CHECK(seg.records[2].op.attr.text == "counts");
  CHECK(seg.records[4].present);
  std::string chunk = read_segment_chunk(*Env::posix(), path, seg.records[4].op);
  CHECK(chunk.size() == 100);
  CHECK(chunk[5] == char(16));
  CHECK_FALSE(seg.records[5].present);
  CHECK(Env::posix()->list_dir(dir.path()).size() == 1);  // no temporary file left
}

TEST_CASE("history OLDEST: golden file, 0 allowed, damage refused") {
  std::string golden = Env::posix()->read_all(golden_path("history-OLDEST-v1"));
  CHECK(encode_oldest(0x2a) == golden);
  CHECK(decode_oldest(golden, "OLDEST") == 0x2a);
  CHECK(decode_oldest(encode_oldest(0), "OLDEST") == 0);
  CHECK_THROWS_AS(decode_oldest("h5tx-history 1 oldest 2a\n", "OLDEST"), CorruptionError);
  CHECK_THROWS_AS(decode_oldest("h5tx-history 2 oldest 000000000000002a\n", "OLDEST"), CorruptionError);
}

TEST_CASE("history segment: truncation, bit flips and a bad chunk copy are refused naming the file") {
  h5tx_test::TempDir dir;
  std::string path = write_golden_segment(dir.path());
  const std::string good = Env::posix()->read_all(path);
  std::string damaged = dir / "damaged.seg";
  for (size_t cut : {size_t(0), size_t(10), good.size() / 2, good.size() - 1}) {
    Env::posix()->write_file_atomic(damaged, good.substr(0, cut));
    INFO("truncated to " << cut);
    CHECK_THROWS_WITH(read_segment(*Env::posix(), damaged), Catch::Contains("damaged.seg"));
  }
  // Every byte of the records and the footer is covered by the checksum or the magic.
  HistorySegment seg = read_segment(*Env::posix(), path);
  const size_t records_at = seg.records[4].op.chunk_offset + seg.records[4].op.chunk_size;
  for (size_t i = records_at; i < good.size(); i++) {
    std::string b = good;
    b[i] ^= 0x20;
    Env::posix()->write_file_atomic(damaged, b);
    INFO("byte " << i << " flipped");
    CHECK_THROWS_AS(read_segment(*Env::posix(), damaged), Error);
  }
  std::string b = good;
  b[seg.records[4].op.chunk_offset + 3] ^= 1;
  Env::posix()->write_file_atomic(damaged, b);
  CHECK_NOTHROW(read_segment(*Env::posix(), damaged));
  CHECK_THROWS_AS(read_segment_chunk(*Env::posix(), damaged, seg.records[4].op), CorruptionError);
  uint64_t first = 0, last = 0;
  CHECK_FALSE(parse_segment_name("0000000000000011-0000000000000010.seg", &first, &last));
  CHECK_FALSE(parse_segment_name("writing-0000000000000001.tmp", &first, &last));
}
