//! placeholder until the body helper lands
pub fn parse(input: &[u8], sep: u8) -> Vec<(Vec<u8>, Vec<u8>)> {
    input.split(|&c| c == sep).filter(|p| !p.is_empty()).map(|p| match p.iter().position(|&c| c == b'=') {
        Some(i) => (p[..i].to_vec(), p[i + 1..].to_vec()),
        None => (p.to_vec(), Vec::new()),
    }).collect()
}
