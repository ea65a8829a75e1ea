//! `cicada validate`: check a scenario without running it.

use std::process::ExitCode;

use cicada_engine::TagFilter;

use crate::cli::ValidateArgs;
use crate::config::resolve_source;
use crate::registry::Registry;
use crate::{exit, source};

/// Prints the scenario's summary (exit 0) or its errors (exit 2).
pub fn run(args: &ValidateArgs, registry: &Registry) -> ExitCode {
    if args.list {
        if registry.all().is_empty() {
            println!("this binary has no built-in scenarios");
        }
        for b in registry.all() {
            println!("{:<24} {}", b.name, b.description);
        }
        return ExitCode::from(exit::OK);
    }
    let source = match resolve_source(&args.source) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    match source::load(&source, registry, &TagFilter::default()) {
        Ok(mut loaded) => {
            print!("{}", loaded.summary);
            if !loaded.summary.ends_with('\n') {
                println!();
            }
            if let Err(e) = source::load_shape(&mut loaded, args.shape.as_deref()) {
                eprintln!("error: {e}");
                return ExitCode::from(exit::USAGE);
            }
            if let (Some(file), Some(shape)) = (&args.shape, &loaded.shape) {
                println!("shape ({}): {}", file.display(), shape.describe());
            }
            println!("ok");
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(exit::USAGE)
        }
    }
}
