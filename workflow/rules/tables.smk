# Tables and generated text, from the ARD only.
rule tables_sets:
    input:
        ard=f"{R}/ard/ard.parquet",
    output:
        expand(f"{R}/tables/{{id}}.{{ext}}", id=["T-SETS", "T-DISP"], ext=["md", "csv", "html"]),
    params:
        cfg=config,
        out_dir=f"{R}/tables",
    script:
        "../scripts/tables_sets.py"


rule report_text:
    input:
        ard=f"{R}/ard/ard.parquet",
    output:
        summary=f"{R}/text/summary.md",
        metadata=f"{R}/text/metadata.yml",
    params:
        cfg=config,
    script:
        "../scripts/report_text.py"
