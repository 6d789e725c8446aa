# Read the export, validate it against the input contract (all problems at once,
# report in validation/ also on failure), apply the data cut once, strip identifiers.
def export_input(wildcards):
    if config["data"]["source"] == "demo":
        return EXPORT
    folder = Path(EXPORT)
    if not folder.is_dir():
        raise WorkflowError(f"data.export_dir: export folder {folder} does not exist")
    return sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


checkpoint ingest:
    input:
        export_input,
    output:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=DOMAINS),
        domains=f"{R}/sdtm/domains.json",
        meta=f"{R}/sdtm/ingest.json",
    params:
        code=code_version("ingest"),
        export_dir=EXPORT,
        cut=CUT,
        out_dir=R,
        # every CAR-T infusion must be at a configured level: checked at validation, before ADSL
        dose_levels=config["dose_levels"],
        dose_tolerance=config.get("dose_match_tolerance", 0.05),
        # a finished bundle of this cut is not replaced by a run on other input data
        bundle=f"{R}/bundle/ethics-amendment-{CUT}.zip",
        allow_overwrite=config.get("bundle", {}).get("allow_overwrite", False),
    log:
        f"{R}/logs/ingest.log",
    threads: 1
    resources:
        mem_mb=lambda wc, input: max(1000, int(12 * input.size_mb)),
    run:
        run_script("ingest", input, output, params, wildcards, threads, log)
