"""``framework-sdk transform``: a local batch transform job."""
import click

from framework_sdk.cli.foreground import _friendly_errors, _local_session, _uninterrupted, _write_lines
from framework_sdk.cli.frameworks import _model
from framework_sdk.cli.options import (_backend_option, _code_options, _common_options, _guess_content_type, _pairs,
                                       _uri)
from framework_sdk.transformer import ASSEMBLE_WITH, SPLIT_TYPES, STRATEGIES


@click.command("transform")
@click.argument("image_or_framework")
@click.option("--model-data", required=True, metavar="URI", help="The model.tar.gz (file://, s3:// or a path).")
@click.option("--input", "input_uri", required=True, metavar="URI",
              help="A file or folder to transform (file://, s3:// or a local path).")
@click.option("--output", "output_uri", metavar="URI",
              help="Where <input file>.out goes (default: ~/.local/share/framework-sdk/local-output/<job>).")
@click.option("--content-type", metavar="TYPE",
              help="Content type of the records (default: from the input's extension, if it has one).")
@click.option("--split-type", type=click.Choice(SPLIT_TYPES), help="How to split the input into records.")
@click.option("--strategy", type=click.Choice(STRATEGIES),
              help="One record per request, or as many as fit in --max-payload (default: the server's "
                   "/execution-parameters, else MultiRecord).")
@click.option("--assemble-with", type=click.Choice(ASSEMBLE_WITH),
              help="How answers are joined in the output (default: Line with --split-type Line).")
@click.option("--accept", metavar="TYPE", help="The output type to ask for.")
@_code_options("inference")
@_common_options
@_backend_option
@click.option("--max-payload", type=click.IntRange(0, 100), metavar="MB", help="Largest request, in MB.")
@click.option("--max-concurrent-transforms", type=click.IntRange(1), metavar="N",
              help="Requests in flight at once.")
@click.option("--job-name", help="The transform job's name (default: the model's name and a timestamp).")
def transform(image_or_framework, model_data, input_uri, output_uri, content_type, split_type, strategy,
              assemble_with, accept, entry_point, source_dir, framework_version, instance_count, instance_type,
              environment, backend, max_payload, max_concurrent_transforms, job_name):
    """Run a local batch transform of --input with a model; print where the output went.

    \b
      framework-sdk transform decision-trees:latest --model-data file:///tmp/models/job/output/model.tar.gz \\
          --input data/batch --output file:///tmp/predictions --content-type text/csv --split-type Line
    """
    env = _pairs(environment, "--env")
    input_uri = _uri(input_uri, "--input")
    if output_uri:
        output_uri = _uri(output_uri, "--output", must_exist=False)
    if content_type is None and input_uri.startswith("file://"):
        content_type = _guess_content_type(input_uri[len("file://"):])
    if assemble_with is None and split_type == "Line":
        assemble_with = "Line"
    with _friendly_errors("the transform job"):
        session = _local_session(backend)
        try:
            model = _model(image_or_framework, model_data, entry_point, source_dir, framework_version, env,
                           session, instance_type)
            transformer = model.transformer(instance_count, instance_type, strategy=strategy,
                                            assemble_with=assemble_with, output_path=output_uri, accept=accept,
                                            max_concurrent_transforms=max_concurrent_transforms,
                                            max_payload=max_payload)
            from framework_sdk import naming

            job_name = job_name or naming.name_from_base(naming.base_name_from_image(model.image_uri))
            transformer.transform(input_uri, content_type=content_type, split_type=split_type, job_name=job_name,
                                  wait=False)
            name = transformer.latest_transform_job.name
            click.echo(f"transform job {name}: {instance_count} instance(s) of {model.serving_image_uri()} on the "
                       f"{session.backend_name} backend", err=True)
            session.logs_for_transform_job(name, wait=True, out=_write_lines("stderr"))
        finally:
            with _uninterrupted():
                session.close()
    click.echo(transformer.output_path)
