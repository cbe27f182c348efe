// Differential harness for the transformations, linked against the real
// libmodsecurity (Debian: libmodsecurity-dev). Build:
//   g++ -O1 -o msc_harness msc_harness.cc -lmodsecurity
// Reads lines "NAMES<TAB>HEXINPUT" on stdin (NAMES: comma-separated t: names),
// puts the input in a request header, runs one rule
//   SecRule REQUEST_HEADERS:x "@unconditionalMatch" "t:none,t:NAME...,logdata:'%{MATCHED_VAR}'"
// and prints the hex of the transformed value as the rule message records it
// (raw bytes, no log escaping or truncation).
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>
#include <modsecurity/rule_message.h>
#include <iostream>
#include <string>
#include <map>
#include <cstdio>
using namespace modsecurity;
static std::string g_out; static bool g_got;
static void cb(void *, const void *m) {
  const RuleMessage *rm = reinterpret_cast<const RuleMessage*>(m);
  g_out = rm->m_data; g_got = true;
}
static std::string unhex(const std::string &h){std::string o;for(size_t i=0;i+1<h.size();i+=2)o.push_back((char)strtol(h.substr(i,2).c_str(),0,16));return o;}
static std::string tohex(const std::string &s){static const char*d="0123456789abcdef";std::string o;for(unsigned char c:s){o.push_back(d[c>>4]);o.push_back(d[c&15]);}return o;}
int main(){
  ModSecurity *ms = new ModSecurity();
  ms->setServerLogCb(cb, RuleMessageLogProperty);
  std::map<std::string, RulesSet*> cache;
  std::string line;
  while(std::getline(std::cin,line)){
    size_t t=line.find('\t'); std::string names=line.substr(0,t), hx=t==std::string::npos?"":line.substr(t+1);
    RulesSet *rs = cache[names];
    if(!rs){ rs=new RulesSet(); std::string tl;
      size_t p=0; while(p<=names.size()){size_t c=names.find(',',p); if(c==std::string::npos)c=names.size(); tl+=",t:"+names.substr(p,c-p); p=c+1;}
      std::string r = std::string(getenv("MSPRE")?getenv("MSPRE"):"") + "SecRuleEngine On\nSecRule REQUEST_HEADERS:x \"@unconditionalMatch\" \"id:1,phase:1,t:none"+tl+",log,pass,logdata:'%{MATCHED_VAR}'\"\n";
      if(rs->load(r.c_str())<0){std::cout<<"ERR "<<rs->getParserError()<<"\n";return 1;}
      cache[names]=rs;}
    Transaction *tx=new Transaction(ms,rs,nullptr);
    tx->processConnection("127.0.0.1",1,"127.0.0.1",80);
    tx->processURI("/","GET","1.1");
    std::string v=unhex(hx);
    tx->addRequestHeader((const unsigned char*)"x",1,(const unsigned char*)v.data(),v.size());
    g_got=false; tx->processRequestHeaders();
    std::cout<<(g_got?tohex(g_out):std::string("NOMATCH"))<<"\n"<<std::flush;
    delete tx;
  }
}
