# The ethics-amendment bundle (one zip) and its MANIFEST. Recheck a bundle with
#   .venv/bin/python -m analysis.bundle verify results/<cut>/bundle/ethics-amendment-<cut>.zip
rule bundle:
    input:
        manifest=f"{R}/manifest.json",
        reports=expand(f"{R}/reports/{{doc}}.{{fmt}}", doc=REPORTS, fmt=["pdf", "docx"]),
        tables=expand(f"{R}/tables/{{id}}.{{ext}}", id=TABLES, ext=TABLE_EXTS),
        figures=expand(f"{R}/figures/{{id}}.{{ext}}", id=FIGURES, ext=["png", "svg"]),
    output:
        f"{R}/bundle/ethics-amendment-{CUT}.zip",
    params:
        code=code_version("bundle"),
        results_dir=R,
        cut=CUT,
        documents=REPORTS,
        tables=TABLES,
        figures=FIGURES,
    threads: 1
    resources:
        mem_mb=1000,
    run:
        run_script("bundle", input, output, params, wildcards, threads, log)
