// The undo-mode store: multi-file transactions written in place under undo
// journals; commit, abort with hooks, savepoints, raw HDF5 through hid(),
// the one-writer-or-many-readers rule (threads and processes), and
// all-or-nothing across crashes at every I/O operation of a transaction
// (forked children over the fault-injecting Env, power cut included).
#include <catch2/catch.hpp>

#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "hdf5/dataset_ops.hpp"
#include "hdf5/handle.hpp"
#include "io/testing/fault_env.hpp"
#include "store/undo_store.hpp"
#include "test_util.hpp"

using namespace h5tx;
using h5tx::testing::FaultEnv;
using h5tx::testing::SimulatedCrash;

namespace {

Options undo_options(Env* env = nullptr) {
  Options o;
  o.mode = Mode::Undo;
  o.env = env;
  return o;
}

DatasetSpec chunked_spec() {
  DatasetSpec s;
  s.dtype = DType::U32;
  s.shape = {8, 8};
  s.max_shape = {kUnlimited, 8};
  s.chunk = {4, 4};
  s.compression = Compression::ShuffleDeflate;
  s.fill_value = 7;
  return s;
}

// A 4x4 u32 chunk whose elements are value*1000 + index.
std::vector<uint8_t> chunk_of(uint32_t value) {
  std::vector<uint32_t> v(16);
  for (uint32_t i = 0; i < 16; i++) v[i] = value * 1000 + i;
  std::vector<uint8_t> out(64);
  std::memcpy(out.data(), v.data(), 64);
  return out;
}

// The value a chunk_of() chunk was made from; -1 if it is not one.
long value_of(const std::vector<uint8_t>& chunk) {
  if (chunk.size() != 64) return -1;
  uint32_t first;
  std::memcpy(&first, chunk.data(), 4);
  uint32_t value = first / 1000;
  return chunk == chunk_of(value) ? long(value) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string python(const std::string& script) {
  std::string py = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  std::string cmd = py + " -c '" + script + "' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  INFO(out);
  REQUIRE(rc == 0);
  return out;
}

// Creates files with dataset /d (chunks [0,0] and [1,1] = `value`).
void populate(Store& store, const std::vector<std::string>& files, uint32_t value) {
  Transaction tx = store.begin();
  for (const std::string& f : files) {
    tx.create_file(f);
    tx.create_dataset(f, "/d", chunked_spec());
    tx.write_chunk(f, "/d", {0, 0}, chunk_of(value));
    tx.write_chunk(f, "/d", {1, 1}, chunk_of(value));
  }
  tx.commit();
}

long read_value(Store& store, const std::string& file, const Shape& coords = {0, 0}) {
  Transaction tx = store.begin({Access::Read});
  long v = value_of(tx.read_chunk(file, "/d", coords));
  tx.commit();
  return v;
}

int child_status(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("undo store: a multi-file transaction commits into ordinary HDF5 files") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  {
    auto store = Store::create(home, undo_options());
    CHECK(store->mode() == Mode::Undo);
    Transaction tx = store->begin();
    CHECK(tx.txid() > 0);
    tx.create_file("a.h5");
    tx.create_file("b.h5");
    tx.create_dataset("a.h5", "/raw/d", chunked_spec());
    tx.create_dataset("b.h5", "/d", chunked_spec());
    tx.write_chunk("a.h5", "/raw/d", {1, 0}, chunk_of(3));
    tx.write_chunk("b.h5", "/d", {0, 1}, chunk_of(4));
    tx.set_attribute("a.h5", "/", "run", AttributeValue::string("ingest 1"));
    tx.set_metadata("k", "v");  // undo mode keeps it in memory only
    tx.set_message("first");
    // The transaction sees its own writes; unwritten chunks are the fill value.
    CHECK(value_of(tx.read_chunk("a.h5", "/raw/d", {1, 0})) == 3);
    CHECK(tx.read_chunk("a.h5", "/raw/d", {0, 0}) == std::vector<uint8_t>{
                                                       7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0,
                                                       7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0,
                                                       7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0,
                                                       7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0});
    CHECK(tx.list_files() == std::vector<std::string>{"a.h5", "b.h5"});
    CHECK(tx.list_datasets("a.h5") == std::vector<std::string>{"/raw/d"});
    tx.commit();
    CHECK_FALSE(tx.active());
    CHECK(store->stats().committed_transactions == 1);
    // Nothing is left in journal/ once committed.
    CHECK(Env::posix()->list_dir(home + "/journal").empty());
  }
  {
    auto store = Store::open(home, undo_options());
    Transaction tx = store->begin({Access::Read});
    CHECK(value_of(tx.read_chunk("a.h5", "/raw/d", {1, 0})) == 3);
    CHECK(value_of(tx.read_chunk("b.h5", "/d", {0, 1})) == 4);
    DatasetSpec s = tx.dataset_spec("b.h5", "/d");
    CHECK(s.shape == Shape{8, 8});
    CHECK(s.fletcher32);
    tx.commit();
  }
  // The files are plain HDF5: h5py reads the committed values (Fletcher32 verified).
  std::string out = python("import h5py\n"
                           "f = h5py.File(\"" + home + "/data/a.h5\", \"r\")\n"
                           "d = f[\"raw/d\"]\n"
                           "print(f.attrs[\"run\"], int(d[4, 0]), int(d[7, 3]), int(d[0, 0]))\n");
  INFO(out);
  CHECK(out.find("ingest 1 3000 3015 7\n") != std::string::npos);
}

TEST_CASE("undo directory names and the CREATED file") {
  uint64_t txid = 0;
  bool committed = true;
  CHECK(parse_undo_dir_name("undo_00000000000000ff", &txid, &committed));
  CHECK(txid == 255);
  CHECK_FALSE(committed);
  CHECK(parse_undo_dir_name("undo_0000000000010000_committed", &txid, &committed));
  CHECK(txid == 65536);
  CHECK(committed);
  CHECK_FALSE(parse_undo_dir_name("undo_ff", &txid, &committed));
  CHECK_FALSE(parse_undo_dir_name("undo_00000000000000FF", &txid, &committed));
  CHECK_FALSE(parse_undo_dir_name("undo_00000000000000ff_done", &txid, &committed));
  CHECK_FALSE(parse_undo_dir_name("working_00000000000000ff_done", &txid, &committed));

  std::string text = encode_created({"a.h5", "vol 2.h5"});
  CHECK(text == "a.h5\nvol 2.h5\n");
  // Pinned by the golden file of formats/undo-store.md.
  CHECK(text == slurp(std::string(H5TX_SOURCE_DIR) + "/formats/golden/undo-CREATED-v1"));
  CHECK(decode_created(text, "x") == std::vector<std::string>{"a.h5", "vol 2.h5"});
  CHECK(decode_created("", "x").empty());
  CHECK_THROWS_AS(decode_created("a.h5", "x"), CorruptionError);
  CHECK_THROWS_AS(decode_created("a/b\n", "x"), CorruptionError);
  CHECK_THROWS_AS(decode_created("\n", "x"), CorruptionError);
}
