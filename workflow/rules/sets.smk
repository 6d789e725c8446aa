# Analysis sets and disposition (SAP §2): ARD parts, T-SETS, T-DISP, the summary text.
ARD_PARTS += ["sets", "disp", "datacut"]
TABLES += ["T-SETS", "T-DISP"]
TEXTS += ["summary", "executive-summary"]


checkpoint ard_sets:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        ds=f"{R}/sdtm/ds.parquet",
        ingest=f"{R}/sdtm/ingest.json",
    output:
        sets=f"{R}/ard/parts/sets.parquet",
        disp=f"{R}/ard/parts/disp.parquet",
        datacut=f"{R}/ard/parts/datacut.parquet",
    params:
        code=code_version("ard_sets"),
        levels=list(config["dose_levels"]),
    run:
        run_script("ard_sets", input, output, params, wildcards, threads, log)


checkpoint tables_sets:
    input:
        ard=ard_parts("sets", "disp"),
    output:
        expand(f"{R}/tables/{{id}}.{{ext}}", id=["T-SETS", "T-DISP"], ext=TABLE_EXTS),
    params:
        code=code_version("tables_sets"),
        cfg=settings("dose_levels"),
        out_dir=f"{R}/tables",
    run:
        run_script("tables_sets", input, output, params, wildcards, threads, log)


checkpoint report_text:
    input:
        ard=f"{R}/ard/ard.parquet",
    output:
        summary=f"{R}/text/summary.md",
        executive=f"{R}/text/executive-summary.md",
        metadata=f"{R}/text/metadata.yml",
    params:
        code=code_version("report_text"),
        cfg=settings("study", "data_cut", "dose_levels", "reports"),
    run:
        run_script("report_text", input, output, params, wildcards, threads, log)
