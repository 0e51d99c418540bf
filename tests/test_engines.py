"""The fused engine computes what Keras computes: same outputs and gradients, to rounding."""

import itertools
import os

import numpy as np
import pytest

from rnnbench import engines

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

CELLS = ["LSTM", "GRU", "SimpleRNN"]


def _tokens(rng, rows=6, steps=9, words=30):
    """Post-padded token ids: rows of different lengths, 0 after the end."""
    x = rng.integers(1, words, size=(rows, steps))
    for row, length in enumerate(rng.integers(2, steps + 1, size=rows)):
        x[row, length:] = 0
    return x


SEQUENCE = 100  # the notebook's maxlen: deviations grow along the recurrence
OUTPUT_TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
GRADIENT_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
DROPOUT = {"none": (0.0, 0.0, False), "training": (0.3, 0.2, True), "inference": (0.3, 0.2, False)}


def _sequences(rng, rows=4, steps=SEQUENCE, words=50, padding="post"):
    """Token ids of documents of different lengths, padded with 0 after (or before) them."""
    x = rng.integers(1, words, size=(rows, steps))
    for row, length in enumerate(rng.integers(steps // 5, steps + 1, size=rows)):
        if padding == "post":
            x[row, length:] = 0
        else:
            x[row, : steps - length] = 0
    return x.astype("int32")


def _models(cell, *, layers, mask_zero, bidirectional, dropout=0.0, recurrent_dropout=0.0,
            activation="tanh", recurrent_initializer="orthogonal", fused_class=None, steps=SEQUENCE, words=50):
    """Keras's layers and the fused ones (or ``fused_class``), one model each, with equal weights."""
    models = []
    for engine in ("keras", "fused"):
        keras.utils.set_random_seed(3)
        layer_class = fused_class if engine == "fused" and fused_class else engines.recurrent_layer(engine, cell)
        inputs = keras.Input(shape=(steps,), dtype="int32")
        x = engines.embedding_layer(engine)(words, 8, mask_zero=mask_zero)(inputs)
        for index in range(layers):
            layer = layer_class(6, return_sequences=index < layers - 1, dropout=dropout,
                                recurrent_dropout=recurrent_dropout, activation=activation,
                                recurrent_initializer=recurrent_initializer)
            x = keras.layers.Bidirectional(layer)(x) if bidirectional else layer(x)
        models.append(keras.Model(inputs, keras.layers.Dense(3)(x)))
    models[1].set_weights(models[0].get_weights())
    return models


def _outputs_and_gradients(model, x, y, training):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        outputs = model(x, training=training)
        value = loss(y, outputs)
    return outputs, [tf.convert_to_tensor(g) for g in tape.gradient(value, model.trainable_variables)]


def deviations(reference, fused, x, training, xla):
    """The fused model's outputs and gradients on ``x`` (eagerly, or compiled by XLA) against Keras's
    own layers', checked against the tolerances; returns the largest absolute deviations (outputs,
    gradients). Keras's layers run eagerly, or also under XLA where dropout draws masks (XLA's
    random numbers are not eager TensorFlow's). Both models' dropout seeds are put back afterwards,
    so a second call draws the same masks."""
    y = np.arange(len(x)) % 3
    seeds = [v for model in (reference, fused) for v in model.variables if "seed_generator" in v.path]
    states = [v.numpy() for v in seeds]
    run = tf.function(_outputs_and_gradients, jit_compile=True) if xla else _outputs_and_gradients
    keras_out, keras_grads = (run if training else _outputs_and_gradients)(reference, x, y, training)
    fused_out, fused_grads = run(fused, x, y, training)
    for variable, state in zip(seeds, states):
        variable.assign(state)
    np.testing.assert_allclose(fused_out, keras_out, **OUTPUT_TOLERANCE, err_msg="outputs")
    assert len(fused_grads) == len(keras_grads)
    for variable, keras_grad, fused_grad in zip(reference.trainable_variables, keras_grads, fused_grads):
        np.testing.assert_allclose(fused_grad, keras_grad, **GRADIENT_TOLERANCE, err_msg=variable.path)
    return (float(np.max(np.abs(fused_out - keras_out))),
            max(float(np.max(np.abs(f - k))) for f, k in zip(fused_grads, keras_grads)))


def covering_grid(full: bool = False) -> list[tuple]:
    """(cell, dropout mode, layers, mask, bidirectional) cases in which every combination of any three of
    the five factors' values occurs: 18 of the 72. Each (cell, dropout mode) gets a pattern of the three
    binary factors and its complement; the patterns, the even-weight ones in a Latin square over cells and
    dropout modes, put each pair of binary values beside each cell and each mode. ``full``: all 72."""
    binary = [(layers, mask, bi) for layers in (2, 1) for mask in (False, True) for bi in (False, True)]
    if full:
        return [(cell, dropout, *levels) for cell in CELLS for dropout in DROPOUT for levels in binary]
    even = [(2, False, False), (2, True, True), (1, False, True), (1, True, False)]  # the patterns: 000 011 101 110
    cases = []
    for i, cell in enumerate(CELLS):
        for j, dropout in enumerate(DROPOUT):
            layers, mask, bi = even[(i + j) % len(even)]
            cases += [(cell, dropout, layers, mask, bi), (cell, dropout, 3 - layers, not mask, not bi)]
    return cases


GRID = {  # id -> (model settings, dropout mode); RNNBENCH_ENGINE_GRID=full: every combination
    f"{cell}-l{layers}-{'mask' if mask else 'nomask'}-{'bi' if bi else 'uni'}-dropout_{dropout}":
        (dict(cell=cell, layers=layers, mask_zero=mask, bidirectional=bi), dropout)
    for cell, dropout, layers, mask, bi in covering_grid(os.environ.get("RNNBENCH_ENGINE_GRID") == "full")
}
GRID["irnn"] = (dict(cell="SimpleRNN", layers=2, mask_zero=False, bidirectional=False, activation="relu",
                     recurrent_initializer="identity"), "none")
GRID["lstm-pre-padding"] = (dict(cell="LSTM", layers=1, mask_zero=True, bidirectional=False, padding="pre"), "none")


def grid_case(config, dropout):
    """One configuration of the grid, eager and under XLA: ("ok", deviations of each) or ("failed", why).
    Runs in a worker process with one TensorFlow thread."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # a worker's second case: already set
        pass
    config = dict(config)
    x = _sequences(np.random.default_rng(0), padding=config.pop("padding", "post"))
    rate, recurrent_rate, training = DROPOUT[dropout]
    reference, fused = _models(**config, dropout=rate, recurrent_dropout=recurrent_rate)
    layer = fused.layers[2].backward_layer if config["bidirectional"] else fused.layers[2]
    if not isinstance(layer, engines.LAYERS[config["cell"]]):
        return "failed", f"not a fused layer: {type(layer)}"
    try:
        return "ok", [deviations(reference, fused, x, training, xla) for xla in (False, True)]
    except AssertionError as error:
        return "failed", str(error)


@pytest.fixture(scope="session")  # kept while the worker runs other modules' tests between the grid's
def grid():
    """Every case of GRID, computed by two worker processes (the grid is CPU-bound, one core each)."""
    import concurrent.futures
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {case: pool.submit(grid_case, *GRID[case]) for case in GRID}
        results = {case: future.result() for case, future in futures.items()}
    measured = [pair for status, pairs in results.values() if status == "ok" for pair in pairs]
    if measured:
        print(f"equivalence grid: {len(results)} cases x (eager, XLA); worst |output| deviation "
              f"{max(p[0] for p in measured):.2e}, worst |gradient| deviation {max(p[1] for p in measured):.2e}")
    return results


def test_the_grid_holds_every_combination_of_any_three_factors():
    cases = covering_grid()
    assert len(cases) == len(set(cases)) == 18
    for factors in itertools.combinations(range(5), 3):
        levels = [{case[f] for case in covering_grid(full=True)} for f in factors]
        assert {tuple(case[f] for f in factors) for case in cases} == set(itertools.product(*levels)), factors


@pytest.mark.slow
@pytest.mark.xdist_group("equivalence_grid")  # one worker computes the grid (in processes of its own) for all
@pytest.mark.parametrize("case", list(GRID))
def test_equivalence_grid(grid, case):
    """Cell x layers x masking x direction x dropout mode (every combination of any three), the IRNN and
    pre-padding: the fused engine's outputs and gradients, eager and under XLA, equal Keras's own
    layers' on the same weights and dropout masks, at the notebook's sequence length, to
    OUTPUT_TOLERANCE and GRADIENT_TOLERANCE."""
    status, detail = grid[case]
    assert status == "ok", detail


@pytest.mark.parametrize("cell", CELLS)
def test_the_grids_dropout_acts_in_training(cell):
    """The grid's training arm compares models whose dropout really draws masks (the same ones)."""
    x = _tokens(np.random.default_rng(1))
    reference, fused = _models(cell, layers=1, mask_zero=True, bidirectional=False, dropout=0.3,
                               recurrent_dropout=0.2, steps=9, words=30)
    keras_out = reference(x, training=True).numpy()
    assert not np.allclose(keras_out, reference(x, training=False).numpy())
    np.testing.assert_allclose(fused(x, training=True).numpy(), keras_out, **OUTPUT_TOLERANCE)


class _GatesSwapped(engines.LSTM):
    """A broken fused LSTM: the input and forget gates trade places."""

    def _step(self, projected, states, training):
        i, f, c, o = keras.ops.split(projected, 4, axis=1)
        return super()._step(keras.ops.concatenate([f, i, c, o], axis=1), states, training)


class _ResetFirst(engines.GRU):
    """A broken fused GRU: the reset gate applied to the state before the recurrent product."""

    def _step(self, projected, states, training):
        cell, h_tm1 = self.cell, states[0]
        units = cell.units
        inner = self._recurrent_product(h_tm1, training) + cell.bias[1]
        z = cell.recurrent_activation(projected[:, :units] + inner[:, :units])
        r = cell.recurrent_activation(projected[:, units: 2 * units] + inner[:, units: 2 * units])
        hh = cell.activation(projected[:, 2 * units:] + keras.ops.matmul(r * h_tm1, cell.recurrent_kernel[:, 2 * units:])
                             + cell.bias[1][2 * units:])
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]


@pytest.mark.parametrize("cell,broken", [("LSTM", _GatesSwapped), ("GRU", _ResetFirst)], ids=["lstm-gates-swapped", "gru-reset-first"])
def test_the_grid_fails_a_broken_engine(cell, broken):
    x = _sequences(np.random.default_rng(0))
    reference, fused = _models(cell, layers=1, mask_zero=True, bidirectional=False, fused_class=broken)
    with pytest.raises(AssertionError):
        deviations(reference, fused, x, training=False, xla=False)


@pytest.mark.parametrize("spec", [
    {"cell": "gru", "layers": 2, "units": 4, "bidirectional": True, "mask_zero": True},
    {"cell": "lstm", "layers": 1, "units": 4, "embedding_dropout": 0.2},
    {"cell": "simple_rnn", "layers": 2, "units": 4, "activation": "relu", "recurrent_initializer": "identity"},
], ids=["bigru-mask", "lstm-embedding-dropout", "irnn"])
def test_to_keras_holds_keras_classes_and_the_same_weights(tmp_path, spec):
    """What a run saves: every layer one of Keras's own classes, the same weights, the same predictions."""
    from rnnbench.models import build_model

    model = build_model(spec, num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
    assert any(type(layer).__module__ == engines.__name__ for layer in model._flatten_layers())
    portable = engines.to_keras(model)
    layers = list(portable._flatten_layers(include_self=False))
    assert layers and all(type(layer).__module__.startswith("keras.") for layer in layers)
    assert [w.shape for w in portable.weights] == [w.shape for w in model.weights]
    assert getattr(portable, "optimizer", None) is None  # weights only: no half-true training state
    for a, b in zip(portable.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    portable.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    x = _tokens(np.random.default_rng(4))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_unknown_engine_is_named():
    with pytest.raises(ValueError, match="unknown engine 'cudnn'"):
        engines.recurrent_layer("cudnn", "LSTM")


@pytest.mark.parametrize("cell,engine,xla,levers", [
    ("lstm", "fused", True, {}), ("lstm", "keras", False, {}), ("bow", "fused", False, {}),
    ("lstm", "fused", False, {"embedding_dropout": 0.3}), ("lstm", "fused", True, {"spatial_dropout": 0.3}),
    ("lstm", "fused", True, {"dropout": 0.3, "recurrent_dropout": 0.3}),
], ids=["lstm", "keras", "bow", "embedding-dropout", "spatial-dropout", "cell-dropout"])
def test_compile_model_turns_xla_on_for_fused_under_op_determinism(cell, engine, xla, levers):
    """Keras switches XLA off when op determinism is on; compile_model sets it back for fused
    recurrent models (not the bag of words, whose multi-hot encoding is slow under XLA, nor a model
    with embedding dropout, whose per-element mask XLA draws slowly on CPU)."""
    from rnnbench.models import build_model
    from tensorflow.python.framework.config import is_op_determinism_enabled

    tf.config.experimental.enable_op_determinism()
    assert is_op_determinism_enabled()
    model = build_model({"cell": cell, "layers": 1, "units": 4, "engine": engine, **levers},
                        num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
    engines.compile_model(model, engine, 0.001, loss="sparse_categorical_crossentropy")
    assert model.jit_compile is xla and engines.uses_xla(model) is xla
    x, y = _tokens(np.random.default_rng(5)), np.arange(6) % 3
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.5,
                        validation_batch_size=engines.validation_batch_size(engine, 32))
    assert np.all(np.isfinite(history.history["loss"]))


def _distinct(count, shape=(4, 9)):
    """Token ids of ``shape`` with exactly ``count`` distinct tokens (1..count-1 once, the rest 0)."""
    flat = np.zeros(int(np.prod(shape)), dtype="int32")
    flat[: count - 1] = np.arange(1, count)
    return np.random.default_rng(count).permutation(flat).reshape(shape)


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("count,vocabulary", [(1, 50), (16, 50), (17, 50), (36, 50), (9, 10)],
                         ids=["one", "at-capacity", "over-capacity", "all-distinct", "small-vocabulary"])
def test_token_product_matches_the_plain_product(count, vocabulary, jit):
    """Projected rows, the kernel's gradient and the embeddings' sparse gradient (one slice per
    position, as Adam gets it from Keras) equal the plain product's, at and past the capacity (a
    quarter of the 36 positions rounded up to 8: 16 rows) and when the vocabulary is smaller."""
    tokens = _distinct(count)
    rng = np.random.default_rng(7)
    table = tf.Variable(rng.normal(size=(vocabulary, 8)).astype("float32"))
    kernel = tf.Variable(rng.normal(size=(8, 12)).astype("float32"))
    upstream = tf.constant(rng.normal(size=tokens.shape + (12,)).astype("float32"))

    def run(distinct):
        with tf.GradientTape() as tape:
            embedded = tf.gather(table, tokens)
            projected = (engines.token_product(embedded, kernel, tokens, table) if distinct
                         else keras.ops.matmul(embedded, kernel))
            loss = tf.reduce_sum(projected * upstream)
        return (projected, *tape.gradient(loss, [table, kernel]))

    results = [tf.function(run, jit_compile=True)(d) if jit else run(d) for d in (False, True)]
    (plain, plain_table, plain_kernel), (projected, table_gradient, kernel_gradient) = results
    assert projected.shape == plain.shape == tokens.shape + (12,)
    np.testing.assert_allclose(projected, plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kernel_gradient, plain_kernel, rtol=1e-5, atol=1e-4)
    assert isinstance(table_gradient, tf.IndexedSlices) and isinstance(plain_table, tf.IndexedSlices)
    np.testing.assert_array_equal(table_gradient.indices, plain_table.indices)
    assert table_gradient.values.shape[0] == tokens.size  # per position, not per distinct token
    np.testing.assert_allclose(table_gradient.values, plain_table.values, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec,training,calls,token_product", [
    ({"cell": "lstm", "layers": 2}, True, 1, True),  # the first layer only
    ({"cell": "gru", "layers": 1, "bidirectional": True, "mask_zero": True}, True, 2, True),  # each direction
    ({"cell": "simple_rnn", "layers": 1, "embedding_dropout": 0.5}, True, 0, True),  # dropout's new tensor
    ({"cell": "simple_rnn", "layers": 1, "embedding_dropout": 0.5}, False, 1, True),  # dropout is the identity
    ({"cell": "lstm", "layers": 1, "dropout": 0.5}, True, 0, True),  # per-row input masks: per position
    ({"cell": "lstm", "layers": 1, "engine": "keras"}, True, 0, True),
    ({"cell": "lstm", "layers": 1}, False, 0, False),  # the lever off, as a benchmark's arm
])
def test_fused_layers_take_the_token_product_straight_after_the_embedding(monkeypatch, spec, training, calls,
                                                                          token_product):
    from rnnbench.models import build_model

    seen = []
    monkeypatch.setattr(engines, "token_product", lambda *args: seen.append(args) or keras.ops.matmul(*args[:2]))
    model = build_model({"units": 4, **spec}, num_words=30, maxlen=9, embedding_dim=8, num_classes=3,
                        token_product=token_product)
    model(_tokens(np.random.default_rng(6)), training=training)
    assert len(seen) == calls


@pytest.mark.slow  # trains
def test_one_adam_step_matches_keras():
    """After two Adam steps on batches with repeated tokens, every weight, the embeddings above all,
    equals Keras's to rounding: Adam squares the same per-position slices under both engines."""
    from rnnbench.models import build_model

    x, y = _tokens(np.random.default_rng(8), rows=12), np.arange(12) % 3
    models = []
    for engine in ("keras", "fused"):
        model = build_model({"cell": "lstm", "layers": 1, "units": 4, "engine": engine},
                            num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
        engines.compile_model(model, engine, 0.01, loss="sparse_categorical_crossentropy")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    for model in models:
        model.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    for name, keras_weight, fused_weight in zip([w.path for w in models[0].weights], *[m.get_weights() for m in models]):
        np.testing.assert_allclose(fused_weight, keras_weight, rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("count,vocabulary,capacity,fits", [
    (1, 50, 16, True), (16, 50, 16, True), (17, 50, 16, False), (36, 50, 16, False), (9, 10, 10, True)])
def test_distinct_tokens_numbers_each_token_once(count, vocabulary, capacity, fits):
    flat = _distinct(count).reshape(-1)
    distinct, inverse, got_capacity, got_fits = (np.asarray(t) for t in engines.distinct_tokens(flat, vocabulary))
    assert (int(got_capacity), bool(got_fits)) == (capacity, fits)
    assert distinct.shape == (capacity,)
    if fits:
        np.testing.assert_array_equal(distinct[inverse], flat)
        np.testing.assert_array_equal(distinct[:count], np.arange(count))


def test_a_model_saved_with_fused_classes_is_converted_in_place(tmp_path, capsys):
    """``python -m rnnbench.engines FILE…`` rewrites a model.keras of an earlier version (rnnbench's own
    layer classes) with Keras's, the same predictions; a second pass leaves it alone."""
    from rnnbench.models import build_model

    model = build_model({"cell": "lstm", "layers": 1, "units": 4, "bidirectional": True, "mask_zero": True},
                        num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
    path = tmp_path / "model.keras"
    model.save(path)  # as earlier versions saved it
    engines.main([str(path), str(path)])
    assert capsys.readouterr().out.splitlines() == [f"{path}: rewritten with Keras layers",
                                                    f"{path}: already Keras layers"]
    assert engines.convert(path) is False
    loaded = keras.models.load_model(path)
    assert all(type(layer).__module__.startswith("keras.") for layer in loaded._flatten_layers(include_self=False))
    x = _tokens(np.random.default_rng(4))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
