"""The model registry of qdiss.models: declared parameters, names, and building a model with
some real entries replaced (concretely and under grad)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss.models as models


def test_find_model_and_declared_parameters():
    entry = models.find_model("MagnonBathQubits")
    assert entry is models.find_model("magnon") and entry.cls is models.magnon.MagnonBathQubits
    assert models.find_model("nope") is None
    temperature = entry.parameter("temperature")
    assert temperature.kind == "real" and temperature.domain == "positive"
    assert entry.parameter("rate").describe().startswith("real, ≥ 0")
    assert {e.short for e in models.model_entries()} == set(models.MODELS)


def test_parameter_check_holds_the_declared_domain():
    """A rate is ≥ 0, a positive parameter > 0, an undeclared real anything; the error names
    the parameter and the value that leaves the domain."""
    magnon, kerr = models.find_model("magnon"), models.find_model("kerr")
    rate, temperature = magnon.parameter("rate"), magnon.parameter("temperature")
    np.testing.assert_array_equal(rate.check([0.0, 2.0]), np.array([0.0, 2.0]))
    assert temperature.check(0.5).dtype == np.float64
    with pytest.raises(ValueError, match=r"`rate` is a rate and must be ≥ 0; got -0.1"):
        rate.check([0.3, -0.1])
    with pytest.raises(ValueError, match=r"`temperature` must be > 0; got 0"):
        temperature.check(0.0)
    assert kerr.parameter("delta").domain is None and kerr.parameter("delta").check(-3.0) == -3.0


def test_parse_label():
    assert models.parse_label("eta[3]") == ("eta", 3) and models.parse_label("mu") == ("mu", None)
    assert models.parse_label("eta[-1]") is None and models.parse_label("3x") is None


def test_kwargs_replace_an_entry_like_the_constructor_given_the_whole_array():
    entry = models.find_model("magnon")
    params = {"eta": np.array([0.1, 0.2]), "mu": np.array([0.0, -1.0]), "rate": np.ones(2)}
    params["temperature"] = 0.5
    built = entry.cls(**entry.kwargs(params, {"eta[1]": 0.7, "temperature": 0.25}))
    direct = entry.cls(jnp.array([0.1, 0.7]), jnp.ones(2), jnp.array([0.0, -1.0]), temperature=0.25)
    np.testing.assert_array_equal(
        np.asarray(built.lindbladian().superoperator()),
        np.asarray(direct.lindbladian().superoperator()),
    )
    assert entry.value(params, "mu", 1) == -1.0 and entry.value(params, "omega") == 1.0


def test_kwargs_are_differentiable_in_an_overridden_entry():
    """d/dx of ``eta[1]`` set to x, by grad, against a central difference on the constructor."""
    entry = models.find_model("magnon")
    params = {"eta": np.array([0.1, 0.2]), "mu": np.array([0.0, -1.0]), "rate": np.ones(2)}
    params["temperature"] = 0.5

    def trace_h(x):
        L = entry.cls(**entry.kwargs(params, {"eta[1]": x})).lindbladian().superoperator()
        return jnp.real(jnp.sum(jnp.abs(L) ** 2))

    def direct(x):
        L = entry.cls(jnp.array([0.1, x]), jnp.ones(2), jnp.array([0.0, -1.0]), temperature=0.5)
        return float(jnp.real(jnp.sum(jnp.abs(L.lindbladian().superoperator()) ** 2)))

    h = 1e-6
    expected = (direct(0.3 + h) - direct(0.3 - h)) / (2 * h)
    assert float(jax.grad(trace_h)(0.3)) == pytest.approx(expected, rel=1e-6)
