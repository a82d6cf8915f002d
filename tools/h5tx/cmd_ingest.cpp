// Ingest commands: `ingest` (resumable batch ingest of a raw, .npy or HDF5
// input) and `demo` (the README's main job: a synthetic volume ingested,
// flushed and verified).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "chunk_grid.hpp"
#include "commands.hpp"
#include "demo_volume.hpp"
#include "h5tx/env.hpp"
#include "hdf5/handle.hpp"
#include "ingest.hpp"
#include "input.hpp"
#include "json.hpp"
#include "progress.hpp"

namespace h5tx {
namespace cli {

namespace {

// SIGINT/SIGTERM during an ingest: the first sets g_interrupt (the workers
// take no new transaction, those in flight finish, the store is closed and
// flushed, exit 128 + signal); a second one exits at once (the next open's
// recovery discards what was in flight).
std::atomic<int> g_interrupt{0};

extern "C" void on_interrupt(int sig) {
  if (g_interrupt.exchange(sig) != 0) {
    const char msg[] = "\nh5tx ingest: second signal: exiting now (rerun the same command to resume)\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(128 + sig);
  }
  const char msg[] =
      "\nh5tx ingest: interrupted: finishing the transactions in flight, then flushing (signal again to exit "
      "at once)\n";
  ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
}

// Installs on_interrupt for SIGINT and SIGTERM while it lives.
class InterruptScope {
 public:
  InterruptScope() {
    g_interrupt = 0;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptScope() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_, old_term_;
};

unsigned default_threads() {
  unsigned hw = std::thread::hardware_concurrency();
  return std::max(2u, std::min(4u, hw));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// --verbose: where the time went, as a share of the ingest's wall time
// (workers' stages as a share of all workers' time).
void print_stages(const IngestResult& r) {
  const IngestResult::Stages& st = r.stages;
  const double wall = r.seconds > 0 ? r.seconds : 1e-9;
  const double workers = wall * std::max(1u, st.threads);
  auto pct = [](double part, double whole) { return 100.0 * part / whole; };
  std::printf("stages: input read in %" PRIu64 " units of up to %" PRIu64
              " chunks, %s in %s (%.0f%% of the wall time)\n",
              st.read_units, st.unit_chunks, format_bytes(double(st.read_bytes)).c_str(),
              format_duration(st.read).c_str(), pct(st.read, wall));
  std::printf(
      "stages: %u workers: getting chunks %.0f%% (waiting for input %.0f%%), filters and staging "
      "%.0f%%, commit %.0f%%, other %.0f%%\n",
      st.threads, pct(st.input, workers), pct(st.wait, workers), pct(st.stage, workers),
      pct(st.commit, workers), std::max(0.0, 100.0 - pct(st.input + st.stage + st.commit, workers)));
}

void print_result(const IngestResult& r, double flush_seconds) {
  if (r.already_complete) {
    std::printf("ingest %s run %u is already complete: all %" PRIu64 " chunks committed; nothing written\n",
                r.id.c_str(), r.run, r.chunks);
    return;
  }
  double rate = r.seconds > 0 ? double(r.bytes_written) / r.seconds : 0;
  std::printf("ingest %s run %u: wrote %" PRIu64 " of %" PRIu64 " chunks (%" PRIu64
              " committed earlier) in %" PRIu64 " transactions: %s in %s (%s/s)\n",
              r.id.c_str(), r.run, r.chunks_written, r.chunks, r.chunks_skipped, r.transactions,
              format_bytes(double(r.bytes_written)).c_str(), format_duration(r.seconds).c_str(),
              format_bytes(rate).c_str());
  bool at_origin = true;
  for (uint64_t v : r.start) at_origin = at_origin && v == 0;
  if (!at_origin)
    std::printf("written at %s of the dataset (now %s)\n", format_shape(r.start).c_str(),
                format_shape(r.dataset_shape, "x").c_str());
  if (flush_seconds >= 0) std::printf("flushed to data/ in %s\n", format_duration(flush_seconds).c_str());
}

IngestOptions ingest_options(const Args& a) {
  IngestOptions o;
  if (a.has("chunk")) o.chunk = parse_shape(a.get("chunk"), "--chunk");
  o.deflate_level = a.has("compress") ? parse_compress(a.get("compress")) : 0;
  o.fletcher32 = !a.flags.count("no-checksum");
  o.tx_chunks = a.get_uint("tx-chunks", 0, 1, 1 << 20);  // 0 (not given): by bytes (ingest.hpp)
  o.threads = unsigned(a.get_uint("threads", default_threads(), 1, 256));
  if (a.flags.count("resume") && a.flags.count("no-resume"))
    throw UsageError("--resume and --no-resume exclude each other");
  if (a.flags.count("resume")) o.resume = IngestOptions::Resume::Yes;
  if (a.flags.count("no-resume")) o.resume = IngestOptions::Resume::No;
  o.max_rate_mib = a.get_double("max-rate", 0);
  o.verbose = a.flags.count("verbose") > 0;
  o.progress_interval = a.get_double("progress-interval", 2);
  return o;
}

// --- ingest ------------------------------------------------------------------

// `ingest HOME --list`: the ingests the store's resume records know.
int run_ingest_list(const Args& a) {
  if (a.positional.size() != 1) throw UsageError("ingest --list takes HOME only (no FILE:/path)");
  for (const char* other : {"from", "dtype", "shape", "start", "append", "resume", "no-resume", "verbose"})
    if (a.has(other)) throw UsageError(std::string("--list does not go with --") + other);
  const bool json = a.flags.count("json") > 0;
  std::unique_ptr<Store> s = open_store(a, true);
  const std::vector<IngestRecord> list = list_records(*s);
  if (json) {
    Json j;
    j.begin_object().field("store", s->home()).key("ingests").begin_array();
    for (const IngestRecord& r : list) {
      const RunInfo& i = r.info;
      j.begin_object().field("id", i.id).field("run", uint64_t(i.run)).field("latest", r.latest);
      j.field("record", r.kind).field("target", i.target).field("input", i.input);
      // Shapes as arrays (cli-json.md), null where the record has none.
      for (const auto& kv : {std::make_pair("shape", &i.shape), std::make_pair("chunk", &i.chunk),
                             std::make_pair("start", &i.start)}) {
        j.key(kv.first);
        Shape v;
        try {
          v = parse_shape(*kv.second, kv.first, true);
        } catch (const UsageError&) {
          j.null();
          continue;
        }
        j.shape(v);
      }
      j.field("chunks", i.chunks).field("chunks_done", r.chunks_done).field("complete", r.complete());
      j.end_object();
    }
    j.end_array().end_object().print();
  } else if (list.empty()) {
    std::printf("no ingests recorded in %s\n", s->home().c_str());
  } else {
    for (const IngestRecord& r : list) {
      const RunInfo& i = r.info;
      std::printf("ingest %s run %u: %s from %s, shape %s, chunk %s, start %s: %" PRIu64 " of %" PRIu64
                  " chunks committed, %s%s\n",
                  i.id.c_str(), i.run, i.target.c_str(), i.input.c_str(), i.shape.c_str(), i.chunk.c_str(),
                  i.start.c_str(), r.chunks_done, i.chunks,
                  r.kind == "finished" ? "complete (finished)"
                  : r.complete()       ? "complete"
                                       : "incomplete",
                  r.latest ? "" : " (superseded by a later run)");
    }
  }
  s->close();
  return 0;
}

int run_ingest_cmd(const Args& a) {
  if (a.flags.count("list")) return run_ingest_list(a);
  if (a.positional.size() != 2) throw UsageError("ingest needs HOME FILE:/path (or HOME --list)");
  IngestOptions o = ingest_options(a);
  o.target = parse_target(a.positional[1]);
  if (!a.has("from")) throw UsageError("ingest needs --from INPUT");
  if (a.has("start") && a.has("append")) throw UsageError("--start and --append exclude each other");
  if (a.has("start")) o.start = parse_shape(a.get("start"), "--start", true);
  if (a.has("append")) o.append_axis = int(a.get_uint("append", 0, 0, 31));
  bool has_dtype = a.has("dtype");
  DType dtype = has_dtype ? parse_dtype_arg(a.get("dtype")) : DType::U8;
  Shape shape = a.has("shape") ? parse_shape(a.get("shape"), "--shape") : Shape{};
  std::unique_ptr<Input> in = open_input(a.get("from"), has_dtype, dtype, shape);
  if (!in->resumable() && a.flags.count("resume"))
    throw UsageError("--resume: an ingest from stdin is not resumable (stdin cannot be read again)");
  InterruptScope interrupt_scope;
  o.interrupt = &g_interrupt;
  const bool json = a.flags.count("json") > 0;
  if (json) o.log = stderr;  // stdout holds the JSON summary only
  std::unique_ptr<Store> s = open_store(a, false);
  IngestResult r = run_ingest(*s, *in, o);
  auto t = std::chrono::steady_clock::now();
  bool redo = s->mode() == Mode::Redo;
  s->close();  // redo mode: flushes the journal into data/
  const double flush_s = r.already_complete || !redo ? -1 : seconds_since(t);
  const int sig = r.interrupted ? g_interrupt.load() : 0;
  const char* sig_name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
  if (json) {
    Json j;
    j.begin_object().field("id", r.id).field("run", uint64_t(r.run)).field("target", a.positional[1]);
    j.field("input", in->describe()).field("dtype", dtype_name(in->dtype())).key("shape").shape(in->shape());
    j.key("start").shape(r.start).key("dataset_shape").shape(r.dataset_shape).key("chunk").shape(r.chunk);
    j.field("chunks", r.chunks)
        .field("chunks_written", r.chunks_written)
        .field("chunks_skipped", r.chunks_skipped);
    j.field("transactions", r.transactions)
        .field("bytes_written", r.bytes_written)
        .field("seconds", r.seconds);
    j.key("flush_seconds");
    if (flush_s < 0)
      j.null();
    else
      j.value(flush_s);
    j.field("resumed", r.resumed).field("already_complete", r.already_complete);
    j.field("complete", r.already_complete || r.chunks_written + r.chunks_skipped == r.chunks);
    j.field("interrupted", r.interrupted).key("signal");
    if (sig)
      j.value(sig_name);
    else
      j.null();
    j.end_object().print();
  } else {
    print_result(r, flush_s);
    if (o.verbose && !r.already_complete) print_stages(r);
    if (sig) {
      std::printf("interrupted by %s: %" PRIu64 " of %" PRIu64 " chunks committed in all; %s\n", sig_name,
                  r.chunks_written + r.chunks_skipped, r.chunks,
                  in->resumable()
                      ? "rerun the same command to resume"
                      : "an ingest from stdin is not resumable: rerun it to write every chunk again");
      std::fflush(stdout);
    }
  }
  // (A signal after the last chunk: the ingest is complete, exit 0.)
  return sig ? 128 + sig : 0;
}

// --- demo --------------------------------------------------------------------

// Reads every chunk of the flushed file with plain HDF5 and compares it with
// the generator. Returns the number of chunks that differ.
uint64_t verify_demo(const std::string& path, const std::string& dataset, const ChunkGrid& grid,
                     uint64_t* checked) {
  hdf5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open", path);
  hdf5::Handle d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), "cannot open dataset",
                 path + ":" + dataset);
  std::unique_ptr<Input> gen = demo_input(grid.shape());
  Progress progress("verify", grid.count() * grid.chunk_elements() * 2);
  uint64_t bad = 0;
  for (uint64_t i = 0; i < grid.count(); i++) {
    Shape start, count;
    grid.region(i, &start, &count);
    uint64_t n = 1;
    for (uint64_t c : count) n *= c;
    std::vector<uint16_t> got(n), want(n);
    std::vector<hsize_t> s(start.begin(), start.end()), c(count.begin(), count.end());
    hdf5::Handle fs(H5Dget_space(d.get()), "cannot get dataspace", path);
    hdf5::check(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, s.data(), nullptr, c.data(), nullptr), "select",
                path);
    hdf5::Handle ms(H5Screate_simple(int(c.size()), c.data(), nullptr), "dataspace", path);
    hdf5::check(H5Dread(d.get(), H5T_NATIVE_UINT16, ms.get(), fs.get(), H5P_DEFAULT, got.data()),
                ("cannot read chunk " + format_shape(grid.coords(i))).c_str(), path + ":" + dataset);
    gen->read(start, count, want.data());
    if (got != want) {
      bad++;
      std::fprintf(stderr, "h5tx demo: %s:%s chunk %s differs from the generator\n", path.c_str(),
                   dataset.c_str(), format_shape(grid.coords(i)).c_str());
    }
    progress.add(grid.chunk_elements() * 2);
    ++*checked;
  }
  progress.finish();
  return bad;
}

int run_demo(const Args& a) {
  std::string dir = a.positional.empty() ? "h5tx-demo" : a.positional[0];
  uint64_t mib = a.get_uint("size", 256, 1, 1 << 20);
  Env* env = Env::posix();
  if (env->exists(dir) && (!env->is_directory(dir) || !env->list_dir(dir).empty()))
    throw AlreadyExistsError(dir,
                             "exists and is not empty; remove it or name another directory (h5tx demo DIR)");

  Shape shape = demo_shape(mib);
  std::unique_ptr<Input> gen = demo_input(shape);
  IngestOptions o = ingest_options(a);
  o.target = Target{"volume.h5", "/volume"};
  uint64_t c = std::min<uint64_t>(64, shape[0]);
  if (o.chunk.empty()) o.chunk = Shape{c, c, c};
  if (!a.has("tx-chunks")) o.tx_chunks = 8;
  o.log = nullptr;

  std::printf("h5tx demo: ingesting a synthetic %s u16 volume (%s) into a new store %s\n",
              format_shape(shape, "x").c_str(), format_bytes(double(gen->bytes())).c_str(), dir.c_str());
  std::fflush(stdout);
  std::unique_ptr<Store> s = Store::create(dir);
  IngestResult r = run_ingest(*s, *gen, o);
  auto t = std::chrono::steady_clock::now();
  s->flush();
  double flush_s = seconds_since(t);
  std::string file = s->data_path("volume.h5");
  Mode mode = s->mode();
  s->close();
  if (char* real = ::realpath(file.c_str(), nullptr)) {  // a path that works from anywhere
    file = real;
    std::free(real);
  }

  ChunkGrid grid(shape, r.chunk);
  uint64_t checked = 0;
  t = std::chrono::steady_clock::now();
  uint64_t bad = verify_demo(file, "/volume", grid, &checked);
  double verify_s = seconds_since(t);

  double rate = r.seconds > 0 ? double(r.bytes_written) / r.seconds : 0;
  std::printf("\n");
  std::printf("  volume           %s u16, %s, %" PRIu64 " chunks of %s\n", format_shape(shape, "x").c_str(),
              format_bytes(double(gen->bytes())).c_str(), r.chunks, format_shape(r.chunk, "x").c_str());
  std::printf("  transactions     %" PRIu64 " committed (%" PRIu64
              " chunks each, %u worker threads) + 1 setup\n",
              r.transactions, o.tx_chunks, mode == Mode::Undo ? 1u : o.threads);
  std::printf("  ingest           %s in %s = %s/s, every commit durable when it returned\n",
              format_bytes(double(r.bytes_written)).c_str(), format_duration(r.seconds).c_str(),
              format_bytes(rate).c_str());
  std::printf("  flush            %s\n", format_duration(flush_s).c_str());
  std::printf("  verify           %" PRIu64 " of %" PRIu64 " chunks match the generator (%s)\n",
              checked - bad, checked, format_duration(verify_s).c_str());
  std::printf("  plain HDF5 file  %s (dataset /volume)\n", file.c_str());
  std::printf("\nread it with:\n");
  std::printf("  h5dump -d /volume -s 0,0,0 -c 1,2,8 %s\n", file.c_str());
  std::printf(
      "  python3 -c \"import h5py; f = h5py.File('%s', 'r'); print(f['volume'].shape, f['volume'][0, 0, "
      ":8])\"\n",
      file.c_str());
  // The binary's own path: after tools/demo.sh, h5tx is not on PATH.
  std::string self = "h5tx";
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) self.assign(exe, size_t(n));
  std::printf("  %s ls %s\n", self.c_str(), dir.c_str());
  if (bad) {
    std::fprintf(stderr, "h5tx demo: %s: %" PRIu64 " chunks differ from the generator\n", file.c_str(), bad);
    return 1;
  }
  return 0;
}

std::vector<OptionSpec> common_ingest_options() {
  return {
      {"chunk", "CHUNK", "chunk shape of a new dataset (default: about 1 MiB)"},
      {"tx-chunks", "N",
       "chunks per transaction (default: about 32 MiB of chunks, 128 MiB in undo mode; a resumed ingest "
       "keeps its first run's)"},
      {"threads", "N", "worker threads committing transactions (default 2..4)"},
      {"compress", "deflate:N", "new dataset: shuffle + deflate at level N"},
      {"no-checksum", "", "new dataset: no Fletcher32 checksums"},
      {"max-rate", "MIB_PER_S", "limit the ingest to this many MiB/s"},
      {"progress-interval", "SECONDS", "between progress lines when stderr is not a terminal (default 2)"},
  };
}

}  // namespace

std::vector<Command> ingest_commands() {
  std::vector<OptionSpec> ingest_opts = {
      {"from", "INPUT",
       "raw file (with --dtype --shape); .npy file (little- or big-endian, C or Fortran order); "
       "FILE.npz:NAME (array NAME of an np.savez/np.savez_compressed archive; no zip64, no encryption); "
       "OTHER.h5:/dataset (chunked, contiguous or compact); '-' for stdin (.npy stream, else raw with "
       "--dtype --shape). stdin and compressed .npz members are first copied to an unlinked temporary "
       "file in $TMPDIR (default /tmp; it needs room for the whole array); an ingest from stdin is not "
       "resumable"},
      {"dtype", "DTYPE", "element type of a raw input (u8..u64, i8..i64, f32, f64)"},
      {"shape", "SHAPE", "shape of a raw input, C order (1024,1024,512)"},
      {"start", "I,J,K",
       "write the input into the existing dataset with its origin at element I,J,K (the dataset grows "
       "within its maximum shape; chunks covered in part are read-modify-written)"},
      {"append", "AXIS",
       "write the input after the dataset's end along AXIS, extending it in the setup transaction "
       "(created, unlimited along AXIS, if missing; the other dimensions must match)"},
      {"resume", "", "continue the same unfinished ingest (the default when one is found)"},
      {"no-resume", "", "start over: write every chunk again, as a new run"},
      {"verbose", "", "print each committed transaction (txid, chunk indices) and where the time went"},
      {"json", "",
       "print one JSON summary object on stdout (schema: docs/cli-json.md); progress and --verbose lines go "
       "to stderr"},
      {"list", "",
       "h5tx ingest HOME --list: list the ingests the store has resume records of (id, run, target, input, "
       "chunks committed of all, complete or not); with --json as one object"},
  };
  for (const OptionSpec& o : common_ingest_options()) ingest_opts.push_back(o);
  ingest_opts.push_back(lock_timeout_option());
  std::vector<OptionSpec> demo_opts = {{"size", "MIB", "size of the volume (default 256)"}};
  for (const OptionSpec& o : common_ingest_options())
    if (o.name != "compress" && o.name != "no-checksum") demo_opts.push_back(o);
  return {
      {{"ingest",
        "HOME FILE:/path --from INPUT [--dtype DTYPE --shape SHAPE] [--start I,J,K | --append AXIS] "
        "[options]\n       h5tx ingest HOME --list [--json]",
        "Batch-ingest an array into dataset FILE:/path (created if missing from the input's dtype\n"
        "and shape), or into a region of it (--start) or after its end (--append).\n"
        "The array is cut into chunks; worker threads commit transactions of N chunks.\n"
        "Each transaction records its chunks in the store, so an ingest that was killed resumes\n"
        "where it stopped and never writes a committed chunk twice. Flushes before exiting.\n"
        "h5tx ingest HOME --list lists the ingests recorded in the store and their state.",
        ingest_opts, 1, 2},
       run_ingest_cmd},
      {{"demo", "[DIR] [--size MIB]",
        "Generate a synthetic 3-D u16 volume, ingest it into a new store in DIR (default\n"
        "./h5tx-demo), flush, verify every chunk against the generator, and print a summary.",
        demo_opts, 0, 1},
       run_demo},
  };
}

}  // namespace cli
}  // namespace h5tx
