// The history commands of the real binary: export --at read back with h5py
// equals the state recorded when each txid committed; get --at; pack; init
// --history and history on|off; the errors they print.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cli_util.hpp"
#include "h5tx/store.hpp"
#include "history_util.hpp"
#include "journal/tx_dir.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace cli_test;
using h5tx_test::TempDir;

namespace {

// The state as the h5py script below prints an export (one group per
// file): every dataset's shape and a position-weighted sum of its u32
// values, every attribute of the files' root groups and of the datasets.
std::string h5py_view(Transaction& tx) {
  std::vector<std::string> lines;
  auto attrs = [&](const std::string& f, const std::string& obj, const std::string& name) {
    for (const auto& a : tx.list_attributes(f, obj)) {
      AttributeValue v = tx.get_attribute(f, obj, a);
      int64_t n = 0;
      if (!v.is_string) std::memcpy(&n, v.bytes.data(), 8);
      lines.push_back(name + "@" + a + "=" + (v.is_string ? v.text : std::to_string(n)));
    }
  };
  for (const auto& f : tx.list_files()) {
    attrs(f, "/", "/" + f);
    for (const auto& d : tx.list_datasets(f)) {
      DatasetSpec s = tx.dataset_spec(f, d);
      std::vector<uint32_t> v(s.shape[0] * s.shape[1]);
      tx.read<uint32_t>(f, d, {0, 0}, s.shape, v.data());
      uint64_t sum = 0;
      for (size_t i = 0; i < v.size(); i++) sum += uint64_t(v[i]) * uint64_t(i + 1);
      lines.push_back("/" + f + d + " shape " + std::to_string(s.shape[0]) + "x" +
                      std::to_string(s.shape[1]) + " sum " + std::to_string(sum));
      attrs(f, d, "/" + f + d);
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string h5py_read(const std::string& path) {
  return h5tx_test::python(
      "import h5py, numpy as np\n"
      "out = []\n"
      "def attrs(name, obj):\n"
      "    for k in sorted(obj.attrs):\n"
      "        v = obj.attrs[k]\n"
      "        out.append(\"/%s@%s=%s\" % (name, k, v if isinstance(v, str) else int(v)))\n"
      "def visit(name, obj):\n"
      "    if isinstance(obj, h5py.Dataset):\n"
      "        a = obj[()].astype(np.uint64).ravel()\n"
      "        s = int((a * (np.arange(a.size, dtype=np.uint64) + np.uint64(1))).sum(dtype=np.uint64))\n"
      "        out.append(\"/%s shape %s sum %d\" % (name, \"x\".join(map(str, obj.shape)), s))\n"
      "    attrs(name, obj)\n"
      "with h5py.File(\"" +
      path +
      "\", \"r\") as f:\n"
      "    f.visititems(visit)\n"
      "print(\"\".join(l + chr(10) for l in sorted(out)), end=\"\")\n");
}

std::string hex(uint64_t t) {
  return journal::txid_hex(t);
}

}  // namespace

TEST_CASE("export --at every retained txid, read back with h5py, equals the state recorded at its commit") {
  TempDir dir;
  std::string home = dir / "store";
  std::map<uint64_t, std::string> recorded;
  {
    Options o;
    o.history = true;
    o.flush_batch_transactions = 2;
    auto store = Store::create(home, o);
    recorded = history_test::run_history_workload(*store, 12, 21, h5py_view);
    store->flush();
  }
  for (const auto& [txid, state] : recorded) {
    std::string out = dir / ("at-" + hex(txid) + ".h5");
    Result r = cli(dir, {"export", home, out, "--at", hex(txid)});
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "as of txid " + hex(txid)));
    INFO("as of txid " << txid);
    CHECK(h5py_read(out) == state);
  }
}

TEST_CASE("get --at, pack, init --history and history on|off through the binary") {
  TempDir dir;
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home, "--history"}).status == 0);
  CHECK(contains(read_file(home + "/h5tx.store"), "features = history"));
  uint64_t first = 0, second = 0;
  {
    auto store = Store::open(home);
    redo_test::make_file(*store, "a.h5", 2);
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {0, 0}, redo_test::chunk_bytes(1, 0, 0));
    tx.commit();
    first = store->stats().last_txid;
    auto tx2 = store->begin();
    tx2.write_chunk("a.h5", "/grid", {0, 0}, redo_test::chunk_bytes(2, 0, 0));
    tx2.commit();
    second = store->stats().last_txid;
  }
  Result at1 = cli(dir, {"get", home, "a.h5:/grid", "--chunk", "0,0", "--raw", "--at", hex(first)});
  REQUIRE(at1.status == 0);
  std::vector<uint8_t> want = redo_test::chunk_bytes(1, 0, 0);
  CHECK(at1.out == std::string(want.begin(), want.end()));
  Result now = cli(dir, {"get", home, "a.h5:/grid", "--chunk", "0,0", "--raw"});
  want = redo_test::chunk_bytes(2, 0, 0);
  CHECK(now.out == std::string(want.begin(), want.end()));

  Result stats = cli(dir, {"stats", home, "--json"});
  CHECK(contains(stats.out, "\"history\":{\"oldest\":\"0000000000000000\""));
  CHECK(contains(cli(dir, {"stats", home}).out, "reads as of txid 0000000000000000 and later"));
  Result p = cli(dir, {"pack", home, "--before", hex(second)});
  REQUIRE(p.status == 0);
  CHECK(contains(p.out, "reads as of txid " + hex(second)));
  Result old = cli(dir, {"get", home, "a.h5:/grid", "--chunk", "0,0", "--at", hex(first)});
  CHECK(old.status == 1);
  CHECK(contains(old.err, "oldest available: " + std::to_string(second)));
  CHECK(cli(dir, {"pack", home}).status == 2);
  CHECK(cli(dir, {"pack", home, "--older-than", "3x"}).status == 2);
  Result pj = cli(dir, {"pack", home, "--older-than", "1d", "--json"});
  CHECK(pj.status == 0);
  CHECK(contains(pj.out, "\"segments_removed\": 0"));

  REQUIRE(cli(dir, {"history", "off", home}).status == 0);
  CHECK_FALSE(Env::posix()->exists(home + "/history"));
  Result none = cli(dir, {"get", home, "a.h5:/grid", "--chunk", "0,0", "--at", hex(second)});
  CHECK(none.status == 1);
  CHECK(contains(none.err, "no history"));
  Result on = cli(dir, {"history", "on", home});
  REQUIRE(on.status == 0);
  CHECK(contains(on.out, "history is on"));
  CHECK(cli(dir, {"history", "maybe", home}).status == 2);
  CHECK(cli(dir, {"init", dir / "undo", "--mode", "undo", "--history"}).status == 1);
}
