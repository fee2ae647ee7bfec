//! `millrace validate` and `millrace export`.

use std::process::ExitCode;

use anyhow::Context;
use millrace_model::validate::{validate, Options};
use millrace_model::{Model, Severity};
use millrace_script::Rhai;

use crate::args::{ExportArgs, ValidateArgs};
use crate::files;

/// Validates every file; exit status 1 when any has an error.
pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let files = files::expand(&args.files, ".bpmn").context("listing the files to validate")?;
    let root = args.scripts.clone();
    let rhai = Rhai::new().with_resources(move |name| files::read_resource(&root, name));
    let options = Options {
        execution: !args.structure_only,
    };
    let (mut errors, mut warnings) = (0, 0);
    for file in &files {
        let shown = file.display().to_string();
        let lines = validate_file(file, &rhai, options);
        for (severity, line) in lines {
            match severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                Severity::Info => {}
            }
            println!("{line}");
        }
        let _ = shown;
    }
    eprintln!(
        "{errors} error(s), {warnings} warning(s) in {} file(s)",
        files.len()
    );
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The rendered findings for one file, with their severities.
pub fn validate_file(
    file: &std::path::Path,
    rhai: &Rhai,
    options: Options,
) -> Vec<(Severity, String)> {
    let shown = file.display().to_string();
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            return vec![(
                Severity::Error,
                format!("{shown}:1:1: -: error[E000]: cannot read the file: {e}"),
            )]
        }
    };
    match Model::import(&bytes) {
        Err(e) => vec![(
            Severity::Error,
            format!("{shown}:{e}").replacen(": ", ": -: error[E001]: ", 1),
        )],
        Ok(model) => validate(&model, rhai, options)
            .into_iter()
            .map(|d| (d.severity, d.render(&shown)))
            .collect(),
    }
}

/// Prints the file as the model writes it back.
pub fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let model =
        Model::import(&bytes).map_err(|e| anyhow::anyhow!("{}:{e}", args.file.display()))?;
    print!("{}", model.export());
    Ok(ExitCode::SUCCESS)
}
