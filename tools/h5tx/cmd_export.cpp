// `export`: a consistent copy of the store's committed state (flushed or
// not) as one plain HDF5 file, read through one read transaction. Written
// to OUT.partial, synced, then renamed, so OUT never holds half an export.
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "chunk_grid.hpp"
#include "commands.hpp"
#include "h5tx/env.hpp"
#include "hdf5/dtype_map.hpp"
#include "hdf5/handle.hpp"
#include "ingest.hpp"
#include "progress.hpp"

namespace h5tx {
namespace cli {

namespace {

void copy_dataset(Transaction& tx, const std::string& file, const std::string& path, hid_t out,
                  const std::string& out_path, const std::string& out_name, Progress& progress) {
  std::string where = out_name + ":" + out_path;
  DatasetSpec s = tx.dataset_spec(file, path);
  const size_t rank = s.shape.size();
  std::vector<hsize_t> dims(s.shape.begin(), s.shape.end()), chunk(s.chunk.begin(), s.chunk.end()),
      maxd(rank);
  for (size_t d = 0; d < rank; d++) {
    uint64_t m = s.max_shape.empty() ? s.shape[d] : s.max_shape[d];
    maxd[d] = m == kUnlimited ? H5S_UNLIMITED : m;
  }
  hid_t type = hdf5::mem_type(s.dtype);
  std::vector<uint8_t> fill = fill_element_of(s.dtype, s.fill_value);
  hdf5::Handle space(H5Screate_simple(int(rank), dims.data(), maxd.data()), "cannot create a dataspace",
                     where);
  hdf5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "cannot create a property list", where);
  hdf5::check(H5Pset_chunk(dcpl.get(), int(rank), chunk.data()), "cannot set the chunk shape", where);
  hdf5::check(H5Pset_fill_value(dcpl.get(), type, fill.data()), "cannot set the fill value", where);
  if (s.compression == Compression::ShuffleDeflate) {
    hdf5::check(H5Pset_shuffle(dcpl.get()), "cannot set shuffle", where);
    hdf5::check(H5Pset_deflate(dcpl.get(), unsigned(s.deflate_level)), "cannot set deflate", where);
  }
  if (s.fletcher32) hdf5::check(H5Pset_fletcher32(dcpl.get()), "cannot set fletcher32", where);
  hdf5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "cannot create a property list", where);
  hdf5::check(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot set intermediate groups", where);
  hdf5::Handle ds(H5Dcreate2(out, out_path.c_str(), type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                  "cannot create dataset", where);

  ChunkGrid grid(s.shape, s.chunk);
  const size_t es = dtype_size(s.dtype);
  for (uint64_t i = 0; i < grid.count(); i++) {
    std::vector<uint8_t> data = tx.read_chunk(file, path, grid.coords(i));
    bool all_fill = true;
    for (size_t b = 0; b < data.size() && all_fill; b++) all_fill = data[b] == fill[b % es];
    progress.add(data.size());
    if (all_fill) continue;  // reads back as the fill value without being stored
    Shape start, count;
    grid.region(i, &start, &count);
    std::vector<hsize_t> st(start.begin(), start.end()), ct(count.begin(), count.end()), zero(rank, 0);
    hdf5::Handle fs(H5Dget_space(ds.get()), "cannot read the dataspace", where);
    hdf5::check(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, st.data(), nullptr, ct.data(), nullptr),
                "select", where);
    hdf5::Handle ms(H5Screate_simple(int(rank), chunk.data(), nullptr), "cannot create a dataspace", where);
    hdf5::check(H5Sselect_hyperslab(ms.get(), H5S_SELECT_SET, zero.data(), nullptr, ct.data(), nullptr),
                "select", where);
    hdf5::check(H5Dwrite(ds.get(), type, ms.get(), fs.get(), H5P_DEFAULT, data.data()), "cannot write",
                where);
  }
}

// Writes one attribute as the library writes it (hdf5/dataset_ops.cpp):
// numbers little-endian, scalar for one value and 1-D otherwise; strings
// variable-length UTF-8.
void write_attribute(hid_t obj, const std::string& name, const AttributeValue& v, const std::string& where) {
  if (H5Aexists(obj, name.c_str()) > 0)
    hdf5::check(H5Adelete(obj, name.c_str()), "cannot replace attribute", where);
  if (v.is_string) {
    hdf5::Handle type(H5Tcopy(H5T_C_S1), "cannot copy a type", where);
    hdf5::check(H5Tset_size(type.get(), H5T_VARIABLE), "cannot size a string type", where);
    hdf5::check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot set UTF-8", where);
    hdf5::Handle space(H5Screate(H5S_SCALAR), "cannot create a dataspace", where);
    hdf5::Handle attr(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create attribute", where);
    const char* text = v.text.c_str();
    hdf5::check(H5Awrite(attr.get(), type.get(), &text), "cannot write attribute", where);
    return;
  }
  hsize_t n = v.count();
  hdf5::Handle space(n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr),
                     "cannot create a dataspace", where);
  hid_t type = hdf5::mem_type(v.dtype);
  hdf5::Handle attr(H5Acreate2(obj, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    "cannot create attribute", where);
  hdf5::check(H5Awrite(attr.get(), type, v.bytes.data()), "cannot write attribute",
              where);  // LE = the file type
}

// Copies the attributes of `object` of `file` (the root group, a group or a
// dataset) to `out_path` of the output, creating a group there if missing.
// Returns how many were copied.
size_t copy_attributes(Transaction& tx, const std::string& file, const std::string& object, hid_t out,
                       const std::string& out_path, const std::string& out_name) {
  std::vector<std::string> attrs = tx.list_attributes(file, object);
  if (attrs.empty()) return 0;
  std::string where = out_name + ":" + out_path;
  if (out_path != "/" && H5Lexists(out, out_path.c_str(), H5P_DEFAULT) <= 0) {
    hdf5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "cannot create a property list", where);
    hdf5::check(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot set intermediate groups", where);
    hdf5::Handle g(H5Gcreate2(out, out_path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                   "cannot create group", where);
  }
  hdf5::Handle obj(H5Oopen(out, out_path.c_str(), H5P_DEFAULT), "cannot open", where);
  for (const std::string& n : attrs)
    write_attribute(obj.get(), n, tx.get_attribute(file, object, n), where + "@" + n);
  return attrs.size();
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path, std::string("cannot open to sync: ") + std::strerror(errno), errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) throw IoError(path, std::string("fsync failed: ") + std::strerror(e), e);
}

int run_export(const Args& a) {
  std::string out = a.positional[1];
  Env* env = Env::posix();
  if (env->exists(out) && !a.flags.count("force"))
    throw AlreadyExistsError(out, "exists (pass --force to replace it)");
  std::unique_ptr<Store> s = open_store(a, true);
  Transaction tx = s->begin(read_tx_options(a));
  std::vector<std::string> files;
  bool one = a.positional.size() == 3;
  if (one) {
    files.push_back(a.positional[2]);
  } else {
    for (const std::string& f : tx.list_files())
      if (f != kIngestFile) files.push_back(f);
    std::sort(files.begin(), files.end());
  }
  std::vector<std::pair<std::string, std::string>> datasets;  // file, path
  uint64_t total = 0;
  for (const std::string& f : files) {
    for (const std::string& d : tx.list_datasets(f)) {
      DatasetSpec sp = tx.dataset_spec(f, d);
      ChunkGrid g(sp.shape, sp.chunk);
      total += g.count() * g.chunk_elements() * dtype_size(sp.dtype);
      datasets.emplace_back(f, d);
    }
  }
  size_t attributes = 0;
  std::string partial = out + ".partial";
  if (env->exists(partial)) env->remove_file(partial);
  {
    hdf5::Handle h(H5Fcreate(partial.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), "cannot create",
                   partial);
    Progress progress("export", total);
    for (const auto& fd : datasets) {
      std::string out_path = one ? fd.second : "/" + fd.first + fd.second;
      copy_dataset(tx, fd.first, fd.second, h.get(), out_path, out, progress);
    }
    progress.finish();
    for (const std::string& f : files) {
      std::vector<std::string> objects = tx.list_datasets(f);
      std::sort(objects.begin(), objects.end());
      objects = objects_of(objects);
      objects.insert(objects.begin(), "/");
      for (const std::string& obj : objects) {
        std::string out_path = one ? obj : "/" + f + (obj == "/" ? "" : obj);
        attributes += copy_attributes(tx, f, obj, h.get(), out_path, out);
      }
    }
    hdf5::check(H5Fflush(h.get(), H5F_SCOPE_GLOBAL), "cannot flush", partial);
  }
  uint64_t snapshot = tx.snapshot();
  tx.abort();
  s->close();
  fsync_path(partial);
  env->rename(partial, out);
  env->sync_dir(path_dirname(out).empty() ? "." : path_dirname(out));
  std::string upto = a.has("at") ? " (the committed state as of txid " + hex16(snapshot) + ")"
                     : snapshot  ? " (committed state up to txid " + hex16(snapshot) + ")"
                                 : "";
  std::printf("exported %zu datasets and %zu attributes of %zu files%s to %s%s\n", datasets.size(),
              attributes, files.size(), upto.c_str(), out.c_str(),
              one ? "" : " (one group per file: /<file>/<dataset path>)");
  return 0;
}

}  // namespace

std::vector<Command> export_commands() {
  return {
      {{"export",
        "HOME OUT.h5 [FILE]",
        "Copy the store's committed state (including transactions not yet flushed), as of one\n"
        "consistent snapshot, into one plain HDF5 file. With FILE: that file's datasets at their\n"
        "own paths; without: every file as a group /<FILE>/... (the ingest progress file\n"
        ".h5tx-ingest.h5 is left out). Datasets keep dtype, shape, chunking and filters;\n"
        "attributes of the files' root groups, groups and datasets are copied too.\n"
        "--at TXID: the state as it was when TXID committed (a store with history).",
        {{"force", "", "replace OUT.h5 if it exists"}, at_option(), lock_timeout_option()},
        2,
        3},
       run_export},
  };
}

}  // namespace cli
}  // namespace h5tx
