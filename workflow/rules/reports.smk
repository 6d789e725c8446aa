# Reports: the Quarto sources in reports/ with the generated tables, figures and text.
# Quarto renders when its binary is on PATH, otherwise pandoc + typst (same sources).
# Each document and format renders in its own work folder, so jobs run in parallel.
rule render_report:
    input:
        source="reports/{doc}.qmd",
        templates=sorted(str(p) for p in Path("reports/_templates").glob("*") if p.is_file()),
        tables=expand(f"{R}/tables/{{id}}.md", id=TABLES),
        text=[f"{R}/text/summary.md", f"{R}/text/metadata.yml"],
    output:
        doc=f"{R}/reports/{{doc}}.{{fmt}}",
        info=f"{R}/reports/.render/{{doc}}.{{fmt}}.json",
    wildcard_constraints:
        fmt="html|pdf|docx",
    params:
        generated_dir=R,
        work_dir=lambda w: f"{R}/reports/.render/{w.doc}-{w.fmt}",
        engine=config["reports"].get("engine", "auto"),
    log:
        f"{R}/logs/render-{{doc}}-{{fmt}}.log",
    script:
        "../scripts/render_report.py"
