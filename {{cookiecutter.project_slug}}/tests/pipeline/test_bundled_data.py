"""The bundled dataset is read from scikit-learn's files without importing scikit-learn (prepare pays for no
library it does not use): the frame is exactly the one scikit-learn's loader gives, and prepare's modules import
neither scikit-learn nor scipy."""

import subprocess
import sys

import pandas as pd

from {{ cookiecutter.module_name }}.pipeline import data


def test_the_bundled_frame_is_scikit_learns():
{%- if cookiecutter.task == "classification" %}
    from sklearn.datasets import load_breast_cancer

    expected = load_breast_cancer(as_frame=True).frame
{%- else %}
    from sklearn.datasets import load_diabetes

    expected = load_diabetes(as_frame=True, scaled=False).frame
{%- endif %}
    pd.testing.assert_frame_equal(data.read_bundled(), expected, check_exact=True)


def test_prepare_reads_the_bundled_data_without_scikit_learn():
    code = (
        "import sys\n"
        "from {{ cookiecutter.module_name }}.pipeline import data, prepare\n"
        "data.read_bundled()\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'sklearn', 'scipy', 'matplotlib', 'skops'}))\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "[]"
