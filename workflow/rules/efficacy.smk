# Tumour response and time to event (SAP §6-7): ADRS, ADTR, ADTTE; ARD part
# `efficacy` (bor, orr, dcr, conc, km, km_curve, km_risk); T-BOR, T-ORR, T-CONC,
# L-CONC, T-TTE; F-WATERFALL, F-SPIDER, F-SWIMMER, F-KM-PFS, F-KM-OS; text/efficacy.md.
EFFICACY_TABLES = ["T-BOR", "T-ORR", "T-CONC", "L-CONC", "T-TTE"]
EFFICACY_FIGURES = ["F-WATERFALL", "F-SPIDER", "F-SWIMMER", "F-KM-PFS", "F-KM-OS"]
ADAM += ["adrs", "adtr", "adtte"]
ARD_PARTS += ["efficacy"]
TABLES += EFFICACY_TABLES
FIGURES += EFFICACY_FIGURES
TEXTS += ["efficacy"]


checkpoint adam_efficacy:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        meta=f"{R}/sdtm/domains.json",
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=["rs", "tu", "tr", "cm"]),
    output:
        adrs=f"{R}/adam/adrs.parquet",
        adtr=f"{R}/adam/adtr.parquet",
        adtte=f"{R}/adam/adtte.parquet",
    params:
        code=code_version("efficacy_adam"),
        cfg=ANALYSIS_SETTINGS,
    log:
        f"{R}/logs/adam_efficacy.log",
    run:
        run_script("efficacy_adam", input, output, params, wildcards, threads, log)


checkpoint ard_efficacy:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        adrs=f"{R}/adam/adrs.parquet",
        adtte=f"{R}/adam/adtte.parquet",
    output:
        f"{R}/ard/parts/efficacy.parquet",
    params:
        code=code_version("efficacy_ard"),
        cfg=ANALYSIS_SETTINGS,
    run:
        run_script("efficacy_ard", input, output, params, wildcards, threads, log)


checkpoint tables_efficacy:
    input:
        ard=ard_parts("efficacy"),
        adrs=f"{R}/adam/adrs.parquet",
    output:
        expand(f"{R}/tables/{{id}}.{{ext}}", id=EFFICACY_TABLES, ext=TABLE_EXTS),
    params:
        code=code_version("efficacy_tables"),
        cfg=ANALYSIS_SETTINGS,
        out_dir=f"{R}/tables",
    run:
        run_script("efficacy_tables", input, output, params, wildcards, threads, log)


checkpoint figures_efficacy:
    input:
        ard=ard_parts("efficacy"),
        adsl=f"{R}/adam/adsl.parquet",
        adrs=f"{R}/adam/adrs.parquet",
        adtr=f"{R}/adam/adtr.parquet",
        ex=f"{R}/sdtm/ex.parquet",
    output:
        expand(f"{R}/figures/{{id}}.{{ext}}", id=EFFICACY_FIGURES, ext=["png", "svg"]),
    params:
        code=code_version("efficacy_figures"),
        cfg=ANALYSIS_SETTINGS,
        out_dir=f"{R}/figures",
    run:
        run_script("efficacy_figures", input, output, params, wildcards, threads, log)


checkpoint text_efficacy:
    input:
        ard=ard_parts("efficacy"),
    output:
        f"{R}/text/efficacy.md",
    params:
        code=code_version("efficacy_text"),
        cfg=ANALYSIS_SETTINGS,
    run:
        run_script("efficacy_text", input, output, params, wildcards, threads, log)
