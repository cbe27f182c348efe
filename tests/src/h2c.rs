//! An HTTP/2 cleartext (prior knowledge) client for one request whose body
//! ends with trailers, the case HTTP/1.1 tests cannot produce.

use std::time::Duration;

use bytes::Bytes;

/// Sends `POST path` with `body` then `trailers`; returns status and body.
pub fn post_with_trailers(
    addr: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
    trailers: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let fut = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (client, conn) = h2::client::handshake(tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut client = client.ready().await.map_err(|e| format!("ready: {e}"))?;
        let req = ::http::Request::builder()
            .method("POST")
            .uri(format!("http://localhost{path}"))
            .header("content-type", content_type)
            .body(())
            .map_err(|e| e.to_string())?;
        let (resp, mut stream) = client
            .send_request(req, false)
            .map_err(|e| format!("send: {e}"))?;
        stream
            .send_data(Bytes::copy_from_slice(body), false)
            .map_err(|e| format!("data: {e}"))?;
        let mut map = ::http::HeaderMap::new();
        for (k, v) in trailers {
            let name =
                ::http::header::HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
            map.insert(
                name,
                v.parse()
                    .map_err(|e: ::http::header::InvalidHeaderValue| e.to_string())?,
            );
        }
        stream
            .send_trailers(map)
            .map_err(|e| format!("trailers: {e}"))?;
        let resp = resp.await.map_err(|e| format!("response: {e}"))?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| format!("body: {e}"))?;
            let _ = body.flow_control().release_capacity(chunk.len());
            data.extend_from_slice(&chunk);
        }
        Ok::<_, String>((status, data))
    };
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(15), fut)
            .await
            .map_err(|_| "timed out".to_string())?
    })
}
