use sourcery_dsp::{Engine, Settings};
fn main() {
    let t = std::time::Instant::now();
    let mut e = Engine::new(&Settings::default());
    e.prepare(44_100.0, 512, 2);
    eprintln!("cold prepare {:.2} ms", t.elapsed().as_secs_f64() * 1e3);
}
