"""Checks a notebook written by NotebookWriter: run by NotebookWriterTests through the
interpreter in SGD_ESCAPE_PYTHON (`make test` makes one in .build-py/).

    python check_notebook.py NOTEBOOK.ipynb EXPECTED.json

1. nbformat validates it, and it is byte-for-byte what nbformat itself writes; Python reads
   the string literals in EXPECTED.json back as their strings, and json.dumps writes those
   strings as the notebook's JSON encoder did.
2. nbclient executes it headless on this interpreter's ipykernel.
3. A cell appended to the run compares every DataFrame named in EXPECTED.json with the
   values Swift put in, exactly (numbers bit for bit), and each figure cell must have drawn
   a PNG. Exit status 0 and a last line "ok ..." when all hold.
"""
import ast
import json
import os
import re
import sys
import tempfile

import nbformat
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CHECK = '''
import json, math
import numpy as np
with open({path!r}, encoding='utf-8') as f:
    expected = json.load(f)
problems = []
for frame in expected['frames']:
    name = frame['variable']
    df = globals()[name]
    if list(df.columns) != frame['columns']:
        problems.append((name, 'columns', list(df.columns)))
        continue
    if len(df) != len(frame['rows']):
        problems.append((name, 'rows', len(df)))
        continue
    for r, row in enumerate(frame['rows']):
        for c, (kind, value) in enumerate(row):
            got = df.iat[r, c]
            if kind == 'missing':
                ok = pd.isna(got)
            elif kind == 'text':
                ok = isinstance(got, str) and got == value
            elif kind == 'integer':
                ok = isinstance(got, (int, np.integer)) and int(got) == int(value)
            else:
                want = float(value)
                ok = isinstance(got, float) and (got == want or (math.isnan(want) and math.isnan(got)))
            if not ok:
                problems.append((name, r, frame['columns'][c], kind, value, repr(got)))
assert not problems, problems
'''


def main(notebook_path, expected_path):
    with open(notebook_path, encoding='utf-8') as f:
        text = f.read()
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert nbformat.writes(nb) + '\n' == text, 'not the bytes nbformat writes for the same notebook'
    with open(expected_path, encoding='utf-8') as f:
        expected = json.load(f)
    for source, value in expected['literals']:
        assert ast.literal_eval(source) == value, (source, value)
    for encoded, value in expected['json']:
        assert json.dumps(value, ensure_ascii=False) == encoded, (encoded, value)

    # The kernel is this interpreter, whatever kernel specs the machine has installed; the
    # inline backend (not a MPLBACKEND from outside) turns plt.show() into a PNG output.
    work = tempfile.mkdtemp(prefix='sgd-escape-kernel-')
    write_kernel_spec(os.path.join(work, 'kernels', 'python3'))
    os.environ['JUPYTER_PATH'] = work
    os.environ['IPYTHONDIR'] = os.path.join(work, 'ipython')
    os.environ.pop('MPLBACKEND', None)

    nb.cells.append(nbformat.v4.new_code_cell(CHECK.format(path=os.path.abspath(expected_path))))
    client = NotebookClient(nb, kernel_name='python3', timeout=120,
                            resources={'metadata': {'path': os.path.dirname(os.path.abspath(notebook_path))}})
    try:
        client.execute()
    except CellExecutionError as error:
        sys.exit(re.sub(r'\x1b\[[0-9;]*m', '', str(error)))  # the traceback without terminal colours

    figures = [c for c in nb.cells if c.cell_type == 'code' and c.source.startswith('# Figure')]
    assert len(figures) == expected['figures'], f"{len(figures)} figure cells, expected {expected['figures']}"
    for cell in figures:
        pngs = [o for o in cell.outputs if 'image/png' in o.get('data', {})]
        assert len(pngs) == 1, f"figure cell {cell.id}: {len(pngs)} PNG outputs, {cell.outputs}"
    warnings = [o.text for c in nb.cells for o in c.get('outputs', []) if o.get('name') == 'stderr']
    for warning in warnings:
        print('stderr from the notebook:', warning.strip())
    print(f'ok: {len(nb.cells) - 1} cells ran, {len(expected["frames"])} DataFrames equal, {len(figures)} PNGs')


if __name__ == '__main__':
    main(*sys.argv[1:])
