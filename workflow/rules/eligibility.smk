# Eligibility audit (SAP §2): the protocol's numeric inclusion/exclusion criteria
# (versioned metadata, analysis/metadata/eligibility_criteria.csv) checked against the
# screening data of every treated subject: ADELIG, ARD part, T-ELIG, L-ELIG, text.
ELIG_CRITERIA = "analysis/metadata/eligibility_criteria.csv"
ADAM += ["adelig"]
ARD_PARTS += ["eligibility"]
TABLES += ["T-ELIG", "L-ELIG"]
TEXTS += ["eligibility", "eligibility-summary"]


checkpoint adelig:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        meta=f"{R}/sdtm/domains.json",
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=["ex", "lb", "vs", "qs", "eg", "cv"]),
        criteria=ELIG_CRITERIA,
    output:
        f"{R}/adam/adelig.parquet",
    log:
        f"{R}/logs/adelig.log",
    params:
        code=code_version("eligibility_adam"),
    run:
        run_script("eligibility_adam", input, output, params, wildcards, threads, log)


checkpoint ard_eligibility:
    input:
        adelig=f"{R}/adam/adelig.parquet",
        criteria=ELIG_CRITERIA,
    output:
        f"{R}/ard/parts/eligibility.parquet",
    params:
        code=code_version("eligibility_ard"),
    run:
        run_script("eligibility_ard", input, output, params, wildcards, threads, log)


checkpoint tables_eligibility:
    input:
        ard=ard_parts("eligibility"),
        adelig=f"{R}/adam/adelig.parquet",
        criteria=ELIG_CRITERIA,
    output:
        expand(f"{R}/tables/{{id}}.{{ext}}", id=["T-ELIG", "L-ELIG"], ext=TABLE_EXTS),
    params:
        code=code_version("eligibility_tables"),
        out_dir=f"{R}/tables",
    run:
        run_script("eligibility_tables", input, output, params, wildcards, threads, log)


checkpoint text_eligibility:
    input:
        ard=ard_parts("eligibility"),
        criteria=ELIG_CRITERIA,
    output:
        text=f"{R}/text/eligibility.md",
        summary=f"{R}/text/eligibility-summary.md",
    params:
        code=code_version("eligibility_text"),
    run:
        run_script("eligibility_text", input, output, params, wildcards, threads, log)
