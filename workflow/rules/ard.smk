# Analysis results data: each analysis writes its own part (ARD_PARTS, filled by the
# stage files); `ard` joins them into the long-format ARD of the results contract.
checkpoint ard:
    input:
        expand(f"{R}/ard/parts/{{part}}.parquet", part=ARD_PARTS),
    output:
        parquet=f"{R}/ard/ard.parquet",
        csv=f"{R}/ard/ard.csv",
    params:
        code=code_version("ard_combine"),
    run:
        run_script("ard_combine", input, output, params, wildcards, threads, log)
