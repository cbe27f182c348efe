//! Parsing one raw HTTP/1.1 request (the bytes as sent on the wire) into its
//! parts, tolerantly, as a server in front of the WAF would read it.
