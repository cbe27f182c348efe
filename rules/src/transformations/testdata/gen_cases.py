#!/usr/bin/env python3
# Usage: gen_cases.py SEED N > cases.in
# Random and fragment-built inputs for every transformation and a few CRS
# chains, one "names<TAB>input hex" line each, to feed record.py.
import random, sys
random.seed(int(sys.argv[1]) if len(sys.argv)>1 else 1)
N=int(sys.argv[2]) if len(sys.argv)>2 else 2000
common=[b'a',b'Z',b'0',b'9',b' ',b'\t',b'\n',b'\r',b'\x0b',b'\x0c',b'\x00',b'\xa0',b'\xc2',b'\xff',b'\x80',b'/',b'\\',b'.',b'%',b'&',b'#',b';',b'=',b'-',b'*',b'x',b'u',b'f',b'F']
frag={
 'urlDecode':[b'%',b'%4',b'%41',b'%zz',b'%u0041',b'+',b'%2',b'%%',b'%0a',b'%FF',b'%g1'],
 'urlDecodeUni':[b'%',b'%u',b'%U',b'%u00',b'%uff',b'%uFF',b'%uff01',b'%uFF5e',b'%uff5f',b'%u1234',b'%41',b'+',b'%4',b'%z',b'%u004',b'ff',b'5e',b'00',b'01',b'3c'],
 'urlEncode':[bytes([i]) for i in range(0,256,7)],
 'htmlEntityDecode':[b'&',b'&#',b'&#x',b'&#X',b';',b'&lt',b'&LT',b'&gt',b'&amp',b'&quot',b'&nbsp',b'&apos',b'&copy',b'65',b'41',b'x',b'999999999999999999999',b'ffffffffffffffffff',b'7fffffffffffffff',b'&#0',b'a',b'G'],
 'jsDecode':[b'\\',b'\\u',b'\\x',b'\\U',b'\\X',b'0',b'1',b'3',b'4',b'7',b'8',b'ff',b'FF',b'01',b'5e',b'41',b'\\n',b'\\a',b'\\z',b'\\\\',b'00',b'61'],
 'cssDecode':[b'\\',b'\\\n',b'0',b'00',b'ff',b'FF',b'01',b'5e',b'41',b'61',b' ',b'\t',b'g',b'z',b'1',b'f',b'\\ff1c',b'\\0ff1c',b'\\00ff1c'],
 'escapeSeqDecode':[b'\\',b'\\x',b'\\X',b'0',b'1',b'3',b'4',b'7',b'8',b'41',b'ff',b'zz',b'\\n',b'\\?',b'\\"',b'\\q',b'777',b'400'],
 'normalizePath':[b'/',b'//',b'.',b'..',b'./',b'../',b'/./',b'/../',b'a',b'bc',b'...'],
 'normalizePathWin':[b'/',b'\\',b'\\\\',b'.',b'..',b'.\\',b'..\\',b'\\.\\',b'\\..\\',b'a',b'C:',b'/\\'],
 'removeComments':[b'/*',b'*/',b'<!--',b'-->',b'--',b'#',b'-',b'/',b'*',b'<',b'!',b'a'],
 'removeCommentsChar':[b'/*',b'*/',b'<!--',b'-->',b'--',b'#',b'-',b'/',b'*',b'<',b'!',b'>',b'a'],
 'replaceComments':[b'/*',b'*/',b'/',b'*',b'a',b'--',b'#'],
 'cmdLine':[b'"',b"'",b'\\',b'^',b' ',b',',b';',b'\t',b'\r',b'\n',b'/',b'(',b'A',b'b',b'C'],
 'utf8toUnicode':[b'\xc3\xa9',b'\xe2\x82\xac',b'\xf0\x9f\x98\x80',b'\xc0\x80',b'\xed\xa0\x80',b'\xf5\x80\x80\x80',b'\xf8',b'\xc3',b'\xe2',b'\xf0',b'\x80',b'\xbf',b'\x00',b'a',b'\xf4\x90\x80\x80',b'\xe0\x80\x80',b'\xf0\x80\x80\x80'],
 'base64Decode':[b'YWJj',b'Y',b'W',b'J',b'j',b'=',b'==',b'+',b'/',b' ',b'\n',b'\r\n',b'\r',b'!',b'-',b'_',b'9',b'\x00',b'QQ'],
 'base64DecodeExt':[b'YWJj',b'Y',b'W',b'J',b'j',b'=',b'==',b'+',b'/',b' ',b'\n',b'!',b'-',b'_',b'9',b'\x00',b'QQ',b'\xff'],
 'sqlHexDecode':[b'0x',b'0X',b'0',b'x',b'41',b'00',b'4',b'ff',b'zz',b'a',b'\x00',b'g'],
 'hexDecode':[b'41',b'4',b'f',b'F',b'z',b'G',b'0',b'\x00',b'\xff'],
}
allt=['base64Decode','base64DecodeExt','base64Encode','cmdLine','compressWhitespace','cssDecode','escapeSeqDecode','hexDecode','hexEncode','htmlEntityDecode','jsDecode','length','lowercase','md5','normalizePath','normalizePathWin','parityEven7bit','parityOdd7bit','parityZero7bit','removeComments','removeCommentsChar','removeNulls','removeWhitespace','replaceComments','replaceNulls','sha1','sqlHexDecode','trim','trimLeft','trimRight','uppercase','urlDecode','urlDecodeUni','urlEncode','utf8toUnicode']
for t in allt:
    pool=frag.get(t,[])+common
    n=N if t in frag else max(200,N//10)
    for k in range(n):
        r=random.random()
        if r<0.15:
            s=bytes(random.randrange(256) for _ in range(random.randrange(12)))
        else:
            s=b''.join(random.choice(pool) for _ in range(random.randrange(1,random.choice([6,14,40]))))
        print(f"{t}\t{s.hex()}")
# single bytes and pairs for everything
for t in allt:
    for b in range(256):
        print(f"{t}\t{bytes([b]).hex()}")
# a few chains as CRS uses them
chains=['urlDecodeUni,htmlEntityDecode,jsDecode,cssDecode','utf8toUnicode,urlDecodeUni,htmlEntityDecode,jsDecode,cssDecode,removeNulls','cmdLine,normalizePath','urlDecodeUni,lowercase,removeWhitespace','removeCommentsChar,compressWhitespace','urlDecode,replaceComments,compressWhitespace']
for c in chains:
    pool=sum((frag.get(x,[]) for x in c.split(',')),[])+common
    for k in range(N//4):
        s=b''.join(random.choice(pool) for _ in range(random.randrange(1,16)))
        print(f"{c}\t{s.hex()}")
