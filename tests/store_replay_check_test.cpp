// Committed operations that pass their checksums but cannot apply (issue 11,
// item 7): recovery and read-only opens check every operation against the
// catalog first and name the transaction; Store::quarantine and
// `h5tx recover --quarantine` move it aside without deleting it. The crafted
// MANIFESTs are written with the library's own encoder, so their checksums
// are valid and only the validation can stop them.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "journal/manifest.hpp"
#include "journal/tx_dir.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace redo_test;

namespace {

constexpr uint64_t kBadTxid = 0x100;

Options no_flusher() {
  Options o;
  o.background_flusher = false;
  return o;
}

// journal/working_<txid>_done with one write_chunk of `bytes` (inline) at
// `coords` of a.h5:/grid, filter mask `mask`.
void plant_chunk(const std::string& home, uint64_t txid, const Shape& coords, const std::string& bytes,
                 uint32_t mask = 0, const std::string& dataset = "/grid") {
  journal::Manifest m;
  m.txid = txid;
  m.message = "planted";
  journal::Op op;
  op.kind = journal::OpKind::WriteChunk;
  op.file = "a.h5";
  op.path = dataset;
  op.shape = coords;
  op.filter_mask = mask;
  op.chunk_file = "";
  op.chunk_offset = 0;
  op.chunk_size = bytes.size();
  op.chunk_hash = journal::checksum(bytes.data(), bytes.size());
  m.ops.push_back(op);
  std::string file = journal::encode_manifest(m) + bytes;
  std::string dir = home + "/journal/" + journal::tx_dir_name(txid, journal::TxState::Done);
  Env* env = Env::posix();
  env->create_dir(dir);
  env->open(dir + "/MANIFEST", OpenMode::CreateNew)->write(0, file.data(), file.size());
}

std::string make_store(const h5tx_test::TempDir& dir) {
  std::string home = dir / "s";
  auto store = Store::create(home, no_flusher());
  make_file(*store, "a.h5", 2);  // 16 x 32: chunk rows 0..1, columns 0..3
  auto tx = store->begin();
  tx.write_chunk("a.h5", "/grid", {1, 3}, chunk_bytes(5, 1, 3));
  tx.commit();
  store->close();
  return home;
}

std::string open_error(const std::string& home, bool read_only) {
  Options o = no_flusher();
  o.read_only = read_only;
  try {
    Store::open(home, o);
  } catch (const CorruptionError& e) {
    return e.what();
  }
  return "";
}

std::string raw_chunk() {
  auto v = chunk_bytes(9, 0, 0);
  return std::string(v.begin(), v.end());
}

}  // namespace

TEST_CASE("replay check: operations that cannot apply fail the open naming the transaction",
          "[untrusted][redo]") {
  struct Case {
    const char* what;
    Shape coords;
    std::string bytes;
    uint32_t mask;
    std::string dataset;
  };
  std::string chunk = raw_chunk();
  std::vector<Case> cases = {
      {"chunk outside the dataset", {2, 0}, chunk, 0, "/grid"},
      {"rank differs", {0}, chunk, 0, "/grid"},
      {"no such dataset", {0, 0}, chunk, 0, "/nope"},
      // An unfiltered dataset: HDF5 would take any size as the chunk's bytes.
      {"wrong size", {0, 0}, chunk.substr(0, 100), 0, "/grid"},
      {"filters skipped", {0, 0}, chunk + "extra", 1, "/grid"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    h5tx_test::TempDir dir("replay");
    std::string home = make_store(dir);
    plant_chunk(home, kBadTxid, c.coords, c.bytes, c.mask, c.dataset);
    for (bool ro : {true, false}) {
      std::string err = open_error(home, ro);
      CHECK(err.find(journal::txid_hex(kBadTxid)) != std::string::npos);
      CHECK(err.find("--quarantine") != std::string::npos);
    }
    // Nothing was changed: the planted transaction is still there.
    CHECK(Env::posix()->is_directory(home + "/journal/" +
                                     journal::tx_dir_name(kBadTxid, journal::TxState::Done)));
  }
}

TEST_CASE("replay check: quarantine moves a bad transaction aside, the store opens with its data",
          "[untrusted][redo]") {
  h5tx_test::TempDir dir("replay");
  std::string home = make_store(dir);
  plant_chunk(home, kBadTxid, {7, 7}, raw_chunk());
  std::string cmd = std::string(H5TX_BINARY_DIR) + "/bin/h5tx";
  CHECK(WEXITSTATUS(std::system((cmd + " check " + home + " >/dev/null 2>&1").c_str())) == 1);
  CHECK(WEXITSTATUS(std::system(
            (cmd + " recover " + home + " --quarantine " + journal::txid_hex(kBadTxid) + " >/dev/null 2>&1")
                .c_str())) == 0);
  std::string q = home + "/quarantine/" + journal::tx_dir_name(kBadTxid, journal::TxState::Done);
  CHECK(Env::posix()->exists(q + "/MANIFEST"));
  CHECK(WEXITSTATUS(std::system((cmd + " check " + home + " >/dev/null 2>&1").c_str())) == 0);
  auto store = Store::open(home, no_flusher());
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {1, 3}) == chunk_bytes(5, 1, 3));
  r.abort();
  store->close();
  CHECK_THROWS_AS(Store::quarantine(home, kBadTxid), NotFoundError);
}

TEST_CASE("replay check: a valid chain of catalog operations passes", "[untrusted][redo]") {
  // A transaction that extends the dataset and writes into the new rows,
  // left unflushed: the check follows the extend.
  h5tx_test::TempDir dir("replay");
  std::string live = dir / "live", home = dir / "s";
  auto store = Store::create(live, no_flusher());
  make_file(*store, "a.h5", 2);
  store->flush();
  {
    auto tx = store->begin();
    tx.extend_dataset("a.h5", "/grid", {64, 32});
    tx.write_chunk("a.h5", "/grid", {7, 3}, chunk_bytes(4, 7, 3));
    tx.set_attribute("a.h5", "/grid", "units", AttributeValue::string("mm"));
    tx.create_file("b.h5");
    tx.create_dataset("b.h5", "/g/x", grid_spec(1));
    tx.set_attribute("b.h5", "/g", "note", AttributeValue::string("group"));
    tx.write_chunk("b.h5", "/g/x", {0, 1}, chunk_bytes(4, 0, 1));
    tx.commit();
  }
  REQUIRE(std::system(("cp -a " + live + " " + home).c_str()) == 0);
  store->close();
  auto s2 = Store::open(home, no_flusher());
  REQUIRE(s2->pending().size() == 1);
  s2->close();
  std::string out = h5tx_test::python("import h5py; f = h5py.File(\"" + home +
                                      "/data/b.h5\", \"r\"); print(int(f[\"/g/x\"][0, 9]))");
  CHECK(std::stoul(out) == 4u * 1000003u + 104729u + 1u);  // chunk_bytes(4, 0, 1), element 1
}

TEST_CASE("replay check: an extent of 2^62 bytes or more is refused by the API in both modes",
          "[untrusted][redo][undo]") {
  // HDF5 1.10 crashes in its chunk index on such extents (a fuzz finding).
  for (Mode mode : {Mode::Redo, Mode::Undo}) {
    h5tx_test::TempDir dir("replay");
    Options o = no_flusher();
    o.mode = mode;
    auto store = Store::create(dir / "s", o);
    make_file(*store, "a.h5");  // u32, unlimited rows, 32 columns
    auto tx = store->begin();
    CHECK_THROWS_AS(tx.extend_dataset("a.h5", "/grid", {uint64_t(1) << 57, 32}), InvalidArgumentError);
    tx.extend_dataset("a.h5", "/grid", {uint64_t(1) << 20, 32});  // 128 MiB of extent: fine
    tx.commit();
    DatasetSpec big = grid_spec();
    big.shape = {uint64_t(1) << 58, 32};
    auto t2 = store->begin();
    CHECK_THROWS_AS(t2.create_dataset("a.h5", "/huge", big), InvalidArgumentError);
  }
}
