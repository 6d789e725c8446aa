# manifest.json: SHA-256 of every input file and output, the settings, package
# versions, the git commit and the renderer of each report. Written last.
rule manifest:
    input:
        ingest=f"{R}/sdtm/ingest.json",
        adam=expand(f"{R}/adam/{{name}}.parquet", name=ADAM),
        ard=[f"{R}/ard/ard.parquet", f"{R}/ard/ard.csv"],
        tables=expand(f"{R}/tables/{{id}}.{{ext}}", id=TABLES, ext=TABLE_EXTS),
        figures=expand(f"{R}/figures/{{id}}.{{ext}}", id=FIGURES, ext=["png", "svg"]),
        reports=expand(f"{R}/reports/{{doc}}.{{fmt}}", doc=REPORTS, fmt=FORMATS),
        render_info=expand(f"{R}/reports/.render/{{doc}}.{{fmt}}.json", doc=REPORTS, fmt=FORMATS),
    output:
        f"{R}/manifest.json",
    params:
        code=code_version("manifest"),
        cfg=config,
        results_dir=R,
    run:
        run_script("manifest", input, output, params, wildcards, threads, log)
