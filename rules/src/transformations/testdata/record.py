#!/usr/bin/env python3
# Usage: record.py CASES [OUT]
# Feeds "names<TAB>input hex[<TAB>expected hex]" lines through ./msc_harness,
# reports where libmodsecurity disagrees with a given expected value, and
# writes "names<TAB>input hex<TAB>libmodsecurity output hex" lines to OUT
# (the format the differential test replays).
import sys, subprocess
lines=[l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
p=subprocess.run(['./msc_harness'],input=''.join(f"{n}\t{i}\n" for n,i,*_ in lines).encode(),capture_output=True)
outs=p.stdout.decode().splitlines()
assert len(outs)==len(lines),(len(outs),len(lines),p.stderr)
bad=0
ref=open(sys.argv[2],'w') if len(sys.argv)>2 else None
for (n,i,*o),r in zip(lines,outs):
    if r=='NOMATCH': print('NOMATCH',n,i); continue
    if ref: ref.write(f"{n}\t{i}\t{r}\n")
    if o and o[0]!=r:
        bad+=1
        if bad<=60: print(n, repr(bytes.fromhex(i)), 'ours', repr(bytes.fromhex(o[0])), 'msc', repr(bytes.fromhex(r)))
print('checked',len(lines),'mismatches',bad)
