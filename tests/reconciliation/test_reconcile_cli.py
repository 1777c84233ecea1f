"""`ccm-gateway reconcile --file F --integration SLUG`: a real subprocess against the
session's database; on a terminal it draws a progress bar, piped it prints the run."""

from __future__ import annotations

import json

from ops_kit import cli_env, on_a_terminal, run_cli
from recon_kit import ago

from ccm_gateway.reconciliation import service as reconciliation_service
from ccm_gateway.reconciliation.models import ReconciliationBreak, ReconciliationRun


async def test_the_cli_reconciles_a_file_with_a_progress_bar_on_a_terminal(
        recon, settings, tmp_path):
    customers = [await recon.customer() for _ in range(3)]
    for customer_id in customers:
        await recon.post(customer_id, 10_000, ago(2))
    path = tmp_path / "erp-balances.csv"
    path.write_text(recon.csv((customers[0], "100.00", ago(1)), (customers[1], "100.00", ago(1)),
                              (customers[2], "90.00", ago(1))))
    env = cli_env(CCM_DATABASE_URL=settings.database_url)
    args = ("reconcile", "--file", str(path), "--integration", recon.slug)

    code, screen = on_a_terminal(env, *args)

    assert code == 0, screen
    assert "reconcile:" in screen and "\x1b[" in screen, screen
    # One step to store the rows, one per chunk of matching (one chunk here).
    assert "2/2" in screen, screen
    [run] = await ReconciliationRun.filter(integration_id=recon.integration_id)
    assert (run.file_name, run.matched, run.broken, run.missing_externally) == (
        "erp-balances.csv", 2, 1, 0)
    assert run.actor.startswith("cli:")
    [found] = await ReconciliationBreak.filter(run_id=run.id)
    assert str(found.customer_id) == customers[2]


async def test_piped_it_prints_the_run_without_a_bar(recon, settings, tmp_path):
    customer_id = await recon.customer()
    path = tmp_path / "b.csv"
    path.write_text(recon.csv((customer_id, "0.00", ago(1))))

    done = run_cli(cli_env(CCM_DATABASE_URL=settings.database_url), "reconcile", "--file",
                   str(path), "--integration", recon.slug)

    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr and done.stderr == ""
    printed = json.loads(done.stdout)
    run = await reconciliation_service.get_run(printed["runId"])
    assert (printed["matched"], printed["broken"], run.matched) == (1, 0, 1)


async def test_a_bad_row_or_a_missing_file_or_integration_is_one_line_and_exit_2(
        recon, settings, tmp_path):
    customer_id = await recon.customer()
    path = tmp_path / "bad.csv"
    path.write_text(recon.csv((customer_id, "1.234", ago(1))))
    env = cli_env(CCM_DATABASE_URL=settings.database_url)

    bad = run_cli(env, "reconcile", "--file", str(path), "--integration", recon.slug)
    missing = run_cli(env, "reconcile", "--file", str(tmp_path / "none.csv"),
                      "--integration", recon.slug)
    unknown = run_cli(env, "reconcile", "--file", str(path), "--integration", "no-such")

    assert (bad.returncode, bad.stderr) == (
        2, "error: line 2: amount '1.234' has 3 decimals; USD allows 2\n")
    assert missing.returncode == 2 and missing.stderr.startswith(
        f"error: --file {tmp_path / 'none.csv'}: "), missing.stderr
    assert (unknown.returncode, unknown.stderr) == (2, "error: integration 'no-such' not "
                                                       "found\n")
    assert await ReconciliationRun.filter(integration_id=recon.integration_id).count() == 0
