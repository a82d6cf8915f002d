// The CREATED file of an undo directory (journal/undo_created.hpp).
#include "journal/undo_created.hpp"

#include "h5tx/error.hpp"
#include "util/names.hpp"

namespace h5tx {
namespace journal {

std::string encode_created(const std::vector<std::string>& files,
                           const std::map<std::string, std::string>& ids) {
  std::string out;
  for (const std::string& f : files) {
    auto it = ids.find(f);
    out += f + (it != ids.end() && !it->second.empty() ? "\t" + it->second : "") + "\n";
  }
  return out;
}

std::vector<std::string> decode_created(const std::string& text, const std::string& path,
                                        std::map<std::string, std::string>* ids) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) throw CorruptionError(path, "last line does not end in a newline");
    std::string name = text.substr(pos, nl - pos);
    size_t tab = name.find('\t');
    if (tab != std::string::npos) {
      std::string id = name.substr(tab + 1);
      name.resize(tab);
      if (id.empty() || id.size() > 64 || id.find_first_not_of("0123456789:") != std::string::npos)
        throw CorruptionError(path, "line " + std::to_string(out.size() + 1) + ": bad file identity");
      if (ids) (*ids)[name] = id;
    }
    const std::string problem = names::file_name_problem(name);
    if (!problem.empty())
      throw CorruptionError(path, "line " + std::to_string(out.size() + 1) + " is not a data file name: '" +
                                      names::printable(name) + "' " + problem);
    out.push_back(name);
    pos = nl + 1;
  }
  return out;
}

}  // namespace journal
}  // namespace h5tx
