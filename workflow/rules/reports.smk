# Reports: the Quarto sources in reports/ with the generated tables, figures and text.
# Quarto renders when its binary is on PATH, otherwise pandoc + typst (same sources).
# Each document and format renders in its own work folder, so jobs run in parallel.
REPORT_SOURCES = sorted(str(p) for d in Path("reports").glob("_*") if d.is_dir()
                        for p in d.rglob("*") if p.is_file())


checkpoint render_report:
    input:
        source="reports/{doc}.qmd",
        sources=REPORT_SOURCES,
        tables=expand(f"{R}/tables/{{id}}.md", id=TABLES),
        figures=expand(f"{R}/figures/{{id}}.png", id=FIGURES),
        text=expand(f"{R}/text/{{name}}.md", name=TEXTS) + [f"{R}/text/metadata.yml"],
    output:
        doc=f"{R}/reports/{{doc}}.{{fmt}}",
        info=f"{R}/reports/.render/{{doc}}.{{fmt}}.json",
    wildcard_constraints:
        fmt="html|pdf|docx",
    params:
        code=code_version("render_report"),
        generated_dir=R,
        work_dir=lambda w: f"{R}/reports/.render/{w.doc}-{w.fmt}",
        engine=config["reports"].get("engine", "auto"),
    log:
        f"{R}/logs/render-{{doc}}-{{fmt}}.log",
    threads: 1
    resources:
        mem_mb=1500,
    run:
        run_script("render_report", input, output, params, wildcards, threads, log)
