//! Typesets a template with a data file, as a process would, to try a
//! template out: `cargo run -p millrace-documents --example render --
//! processes/disconnection/receipt.typ data.json receipt.pdf`.

use std::collections::HashMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [template, data, out] = args.as_slice() else {
        return Err("usage: render TEMPLATE.typ DATA.json OUT.pdf".into());
    };
    let folder = std::path::Path::new(template)
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "typ") {
            let name = path.strip_prefix(folder)?.to_string_lossy().into_owned();
            files.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    let main = std::path::Path::new(template)
        .file_name()
        .ok_or("the template has no file name")?
        .to_string_lossy()
        .into_owned();
    let t = millrace_documents::Template::from_deployment(&main, files.iter())
        .ok_or("the template is not among its folder's .typ files")?;
    t.check()?;
    let data: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(data)?)?;
    let pdf = t.render(&data, chrono::Utc::now().date_naive())?;
    std::fs::write(out, pdf)?;
    Ok(())
}
