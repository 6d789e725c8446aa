# Dose escalation, DLTs and safety (SAP §4, §5): ADAE, ADLB (CTCAE v5.0 grades from the
# criteria table analysis/metadata/ctcae_v5_lab.csv), ARD parts, tables, listings,
# figures and the generated paragraph. Logic in analysis/steps_safety.py.
SAFETY_ESC_PARTS = ["dlt", "escalation", "esc_replay", "esc_subject", "isotonic"]
SAFETY_PARTS = ["teae_ovr", "teae", "teae_rel", "crs", "lab_shift", "edish"]
SAFETY_TABLES = ["T-DLT", "T-ESC", "T-TEAE-OVR", "T-TEAE-SOCPT", "T-TEAE-REL", "T-CRS", "T-LAB-SHIFT"]
SAFETY_LISTINGS = ["L-DEATH", "L-SAE", "L-DLT", "L-TEAE-G3", "L-CRS", "L-HYSLAW"]
SAFETY_FIGURES = ["F-ESC", "F-EDISH"]
SAFETY_CRITERIA = (config.get("safety") or {}).get("lab_criteria", "analysis/metadata/ctcae_v5_lab.csv")

ADAM += ["adae", "adlb"]
ARD_PARTS += SAFETY_ESC_PARTS + SAFETY_PARTS
TABLES += SAFETY_TABLES + SAFETY_LISTINGS
FIGURES += SAFETY_FIGURES
TEXTS += ["safety"]


checkpoint adae:
    input:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=["ae", "ex", "cm"]),
        meta=f"{R}/sdtm/domains.json",
        adsl=f"{R}/adam/adsl.parquet",
    output:
        f"{R}/adam/adae.parquet",
    params:
        code=code_version("safety_adae"),
        cfg=ANALYSIS_SETTINGS,
    log:
        f"{R}/logs/adae.log",
    run:
        run_script("safety_adae", input, output, params, wildcards, threads, log)


checkpoint adlb:
    input:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=["lb", "ex", "cm"]),
        meta=f"{R}/sdtm/domains.json",
        adsl=f"{R}/adam/adsl.parquet",
        criteria=SAFETY_CRITERIA,
    output:
        f"{R}/adam/adlb.parquet",
    params:
        code=code_version("safety_adlb"),
        cfg=ANALYSIS_SETTINGS,
    log:
        f"{R}/logs/adlb.log",
    run:
        run_script("safety_adlb", input, output, params, wildcards, threads, log)


checkpoint ard_escalation:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        adae=f"{R}/adam/adae.parquet",
    output:
        **{p: f"{R}/ard/parts/{p}.parquet" for p in SAFETY_ESC_PARTS},
    params:
        code=code_version("safety_ard_escalation"),
        cfg=ANALYSIS_SETTINGS,
    run:
        run_script("safety_ard_escalation", input, output, params, wildcards, threads, log)


checkpoint ard_safety:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        adae=f"{R}/adam/adae.parquet",
        adlb=f"{R}/adam/adlb.parquet",
        criteria=SAFETY_CRITERIA,
    output:
        **{p: f"{R}/ard/parts/{p}.parquet" for p in SAFETY_PARTS},
    params:
        code=code_version("safety_ard"),
        cfg=ANALYSIS_SETTINGS,
    run:
        run_script("safety_ard", input, output, params, wildcards, threads, log)


checkpoint tables_safety:
    input:
        ard=ard_parts(*SAFETY_ESC_PARTS, *SAFETY_PARTS),
        criteria=SAFETY_CRITERIA,
    output:
        tables=expand(f"{R}/tables/{{id}}.{{ext}}", id=SAFETY_TABLES, ext=TABLE_EXTS),
        figures=expand(f"{R}/figures/{{id}}.{{ext}}", id=SAFETY_FIGURES, ext=["png", "svg"]),
        text=f"{R}/text/safety.md",
    params:
        code=code_version("safety_tables"),
        cfg=ANALYSIS_SETTINGS,
        table_dir=f"{R}/tables",
        fig_dir=f"{R}/figures",
    run:
        run_script("safety_tables", input, output, params, wildcards, threads, log)


checkpoint listings_safety:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        adae=f"{R}/adam/adae.parquet",
        adlb=f"{R}/adam/adlb.parquet",
    output:
        expand(f"{R}/tables/{{id}}.{{ext}}", id=SAFETY_LISTINGS, ext=TABLE_EXTS),
    params:
        code=code_version("safety_listings"),
        cfg=ANALYSIS_SETTINGS,
        out_dir=f"{R}/tables",
    run:
        run_script("safety_listings", input, output, params, wildcards, threads, log)
