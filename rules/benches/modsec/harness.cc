// Runs N transactions of one raw HTTP/1.1 request through libmodsecurity 3
// with a given configuration file; the per-transaction work is in run_tx(),
// so `valgrind --tool=callgrind --toggle-collect=run_tx` counts exactly it.
//   g++ -O2 -o harness harness.cc -lmodsecurity
//   ./harness CONFIG REQUEST_FILE N
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include <utility>

using namespace modsecurity;

struct Request {
    std::string method, uri, version, body;
    std::vector<std::pair<std::string, std::string>> headers;
};

static Request parse(const std::string &raw) {
    Request r;
    size_t head_end = raw.find("\r\n\r\n");
    std::string head = raw.substr(0, head_end);
    r.body = head_end == std::string::npos ? "" : raw.substr(head_end + 4);
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream rl(line);
    rl >> r.method >> r.uri >> r.version;
    if (r.version.rfind("HTTP/", 0) == 0) r.version = r.version.substr(5);
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t c = line.find(':');
        if (c == std::string::npos) continue;
        size_t v = line.find_first_not_of(' ', c + 1);
        r.headers.emplace_back(line.substr(0, c), v == std::string::npos ? "" : line.substr(v));
    }
    return r;
}

__attribute__((noinline)) int run_tx(ModSecurity *ms, RulesSet *rules, const Request &r) {
    Transaction tx(ms, rules, nullptr);
    tx.processConnection("203.0.113.7", 40000, "127.0.0.1", 80);
    tx.processURI(r.uri.c_str(), r.method.c_str(), r.version.c_str());
    for (auto &h : r.headers) tx.addRequestHeader(h.first, h.second);
    tx.processRequestHeaders();
    if (!r.body.empty())
        tx.appendRequestBody(reinterpret_cast<const unsigned char *>(r.body.data()), r.body.size());
    tx.processRequestBody();
    tx.addResponseHeader("Content-Type", "text/html");
    tx.processResponseHeaders(200, "HTTP 1.1");
    tx.processResponseBody();
    tx.processLogging();
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        std::cerr << "usage: harness CONFIG REQUEST_FILE N\n";
        return 2;
    }
    ModSecurity *ms = new ModSecurity();
    RulesSet *rules = new RulesSet();
    if (rules->loadFromUri(argv[1]) < 0) {
        std::cerr << "config: " << rules->getParserError() << "\n";
        return 1;
    }
    std::ifstream f(argv[2], std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Request r = parse(raw);
    int n = std::atoi(argv[3]);
    for (int i = 0; i < n; i++) run_tx(ms, rules, r);
    std::cout << "done " << n << "\n";
    return 0;
}
