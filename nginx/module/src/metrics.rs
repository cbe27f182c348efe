//! `palisade_wasm_metrics;`: the shared metrics of every worker in
//! Prometheus text format (`GET`/`HEAD` only).

use std::ptr;

use ngx::ffi::{
    ngx_http_discard_request_body, ngx_http_output_filter, ngx_http_request_t, ngx_http_send_header, ngx_int_t,
    ngx_str_t, NGX_ERROR, NGX_HTTP_GET, NGX_HTTP_HEAD, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_NOT_ALLOWED,
    NGX_HTTP_OK, NGX_OK,
};
use palisade_wasm_host::prom;

use crate::conf::core_conf_of;
use crate::guard;

const CONTENT_TYPE: &[u8] = b"text/plain; version=0.0.4; charset=utf-8";

pub unsafe extern "C" fn handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard("metrics handler", NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t, || unsafe { serve(r) })
}

unsafe fn serve(r: *mut ngx_http_request_t) -> ngx_int_t {
    if (*r).method & (NGX_HTTP_GET | NGX_HTTP_HEAD) as usize == 0 {
        return NGX_HTTP_NOT_ALLOWED as ngx_int_t;
    }
    let rc = ngx_http_discard_request_body(r);
    if rc != NGX_OK as ngx_int_t {
        return rc;
    }
    let text = match core_conf_of(ngx::ffi::ngx_cycle).and_then(|c| c.region) {
        Some(region) => prom::render(&region.metrics(), &prom::DEFAULT_TAGS),
        None => String::new(),
    };
    let ho = &mut (*r).headers_out;
    ho.status = NGX_HTTP_OK as usize;
    ho.content_length_n = text.len() as i64;
    ho.content_type = ngx_str_t { len: CONTENT_TYPE.len(), data: CONTENT_TYPE.as_ptr() as *mut u8 };
    ho.content_type_len = CONTENT_TYPE.len();
    let rc = ngx_http_send_header(r);
    if rc == NGX_ERROR as ngx_int_t || rc > NGX_OK as ngx_int_t || (*r).header_only() != 0 {
        return rc;
    }
    // An empty body is a special (memory-less) last buffer.
    let b = if text.is_empty() {
        ngx::ffi::ngx_pcalloc((*r).pool, std::mem::size_of::<ngx::ffi::ngx_buf_t>()) as *mut ngx::ffi::ngx_buf_t
    } else {
        ngx::ffi::ngx_create_temp_buf((*r).pool, text.len())
    };
    let cl = ngx::ffi::ngx_alloc_chain_link((*r).pool);
    if b.is_null() || cl.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    if !text.is_empty() {
        ptr::copy_nonoverlapping(text.as_ptr(), (*b).last, text.len());
        (*b).last = (*b).last.add(text.len());
    }
    (*b).set_last_buf(1);
    (*b).set_last_in_chain(1);
    (*cl).buf = b;
    (*cl).next = ptr::null_mut();
    ngx_http_output_filter(r, cl)
}
