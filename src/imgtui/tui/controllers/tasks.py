"""Task events and task actions on screen: cards, the detail view, confirmations, toasts.

`show_event` is the card side of one wire event (the service applied it); the actions
(open, cancel, retry, delete, star, reuse, refine: `TaskAction`) ask the service and show
the answer. Nothing here touches the store or the wire.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from imgtui.api.events import Completed, Event, Partial, Progress, Started
from imgtui.config import default_output_dir
from imgtui.draft import Draft
from imgtui.tasks import Status, Task
from imgtui.tui.controllers.base import AppBase
from imgtui.tui.messages import TaskAction
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.detail import DetailResult, DetailScreen
from imgtui.tui.widgets.task_card import TaskCard, one_line

if TYPE_CHECKING:
    from PIL.Image import Image

    from imgtui.images import Frames


__all__ = ["TaskActions"]


class TaskActions(AppBase):
    """The task list's and the detail view's side of tasks (a mixin of the App)."""

    # -- a task's life on screen ----------------------------------------------------------

    def add_task(self, task: Task) -> TaskCard:
        """Show a new task at the top of the list and select it."""
        self.tasks[task.id] = task
        card = self.make_card(task)
        self.call_next(self.task_list.add_first, card)
        self.update_subtitle()
        return card

    def send(
        self, draft: Draft, sent: Callable[[], object] | None = None, *, ask: bool = True
    ) -> Task | None:
        """Launch a checked draft unless its profile's daily spending limit is reached; a
        model shut down or shutting down within 30 days is sent only once the user says
        yes (the task starts then, and None is returned now; `ask=False`: the caller asked
        already). `sent()` runs at launch."""
        if not self.service.may_spend(draft.profile.name):
            return None
        warning = self.service.shutdown_warning(draft.profile, draft.params.model)
        if warning is None or not ask:
            if sent is not None:
                sent()
            return self.launch(draft)

        def answered(yes: bool | None) -> None:
            if yes and self.service.may_spend(draft.profile.name):
                if sent is not None:
                    sent()
                self.launch(draft)

        self.push_screen(
            ConfirmScreen(
                f"{warning}.\n\nSend this task to {draft.params.model} anyway?",
                yes="Send",
                no="Don't send",
                title="Model shutting down",
            ),
            answered,
        )
        return None

    def ask_shutdown(self, warnings: list[str], what: str, then: Callable[[], object]) -> None:
        """One question for several tasks (a batch, marked retries) whose models are shut
        down or shutting down: `then()` runs on yes."""

        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.push_screen(
            ConfirmScreen(
                "\n".join(f"{w}." for w in warnings) + f"\n\n{what} anyway?",
                yes="Send",
                no="Don't send",
                title="Model shutting down",
            ),
            answered,
        )

    def retry_many(self, task_ids: list[str]) -> None:
        """Retry several tasks, asking once when any goes to a model shutting down."""
        drafts = {i: d for i in task_ids if (d := self.service.retry_draft(i, self.params))}
        warnings = list(
            dict.fromkeys(
                w
                for d in drafts.values()
                if (w := self.service.shutdown_warning(d.profile, d.params.model)) is not None
            )
        )

        def run_all() -> None:
            for task_id in drafts:
                self.retry_task(task_id, ask=False)

        if warnings:
            self.ask_shutdown(warnings, f"Retry these {len(drafts)} tasks", run_all)
        else:
            run_all()

    def launch(self, draft: Draft) -> Task:
        """A new task for `draft`: queued, shown, saved, and run by its own worker."""
        task = self.service.new_task(draft)
        self.add_task(task)
        self.service.run(task, draft)
        return task

    def show_event(
        self, task: Task, event: Event, before: Status, picture: Image | Frames | None
    ) -> None:
        """The card, header and detail view after the service applied `event` to `task`
        (whose status was `before`); an ended task is `end`ed."""
        card = self.task_list.card(task.id)
        slot = event.slot if isinstance(event, Completed) else None
        # A card shows the first image that is done; an earlier image's final replaces it,
        # so once all are in it shows image 1 (as the history does, `Task.preview`).
        earlier = slot is not None and card is not None and slot < card.slot
        shown = card is not None and picture is not None and (not card.has_final or earlier)
        if card is not None and shown:
            card.set_picture(picture, unfinished=slot is None, slot=slot)
        if isinstance(event, (Partial, Completed)):
            self.picture_gate.frame_shown(task.id, card, event, decoded=picture is not None)
        if task.status is not before:
            if card is not None:
                card.refresh_task()
            self.update_subtitle()
        elif card is not None and shown and isinstance(event, Partial):
            card.refresh_task_after_paint()  # the new frame first, its text in the next update
        elif card is not None and not isinstance(event, (Progress, Started)):
            card.refresh_task()
        if task.status is not before and task.status.ended:
            self.service.end(task)
            self.task_ended(task)
        self.forward_to_detail(task, event)

    def task_ended(self, task: Task) -> None:
        """A task reached an end state (the service saved it): its card, the keys, the
        header; a desktop notification when the window is not focused (`done_notifier`);
        a toast when a modal other than its own detail view hides the list."""
        card = self.task_list.card(task.id)
        if card is not None:
            card.refresh_task()
        self.task_list.sync_bindings()
        self.update_subtitle()
        running, queued, _ = self.service.counts()
        self.done_notifier.task_ended(task, running + queued)
        self.show_params()  # today's spending moved
        if len(self.screen_stack) > 1:
            showing = isinstance(self.screen, DetailScreen) and self.screen.imgtask.id == task.id
            if not showing:
                self.toast_ended(task)

    def toast_ended(self, task: Task) -> None:
        title = one_line(task.prompt, 50)
        if task.status is Status.DONE:
            self.notify(f"Done in {task.elapsed():.1f}s", title=title, markup=False)
        elif task.status is Status.FAILED:
            self.notify(
                task.error_message or "failed",
                title=f"Failed: {title}",
                severity="error",
                markup=False,
            )

    def forward_to_detail(self, task: Task, event: object = None) -> None:
        """Tell the preview and an open detail view of `task` that it changed (`event`, or
        None)."""
        self.gallery.preview.task_changed(task, event)
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen) and screen.imgtask.id == task.id:
                screen.task_changed(event)

    def tick(self) -> None:
        """Once a second: only the running cards' elapsed time."""
        now = self.clock()
        for task in self.tasks.values():
            if task.status is Status.RUNNING:
                card = self.task_list.card(task.id)
                if card is not None:
                    card.tick(now)

    # -- actions --------------------------------------------------------------------------

    def run_task_action(self, action: TaskAction, task_id: str, slot: int | None = None) -> None:
        """`slot`: the image the action is about (the detail view's shown one); None from
        the list (retry: the failed images; refine: the first)."""
        if action is TaskAction.OPEN:
            self.open_detail(task_id)
        elif action is TaskAction.CANCEL:
            if not self.cancel_task(task_id):
                self.notify("That task is not running.", severity="warning")
        elif action is TaskAction.RETRY:
            self.retry_task(task_id, slot)
        elif action is TaskAction.DELETE:
            self.ask_delete(task_id)
        elif action is TaskAction.STAR:
            self.toggle_star(task_id)
        elif action is TaskAction.REUSE:
            self.reuse_task(task_id)
        elif action is TaskAction.REFINE:
            self.refine_task(task_id, slot or 0)

    def action_selected(self, action: str) -> None:
        task_id = self.task_list.selected_id
        if task_id is None:
            self.notify("No task selected.", severity="warning")
            return
        self.run_task_action(TaskAction(action), task_id)

    def open_detail(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return

        def done(result: DetailResult | None) -> None:
            if result is not None:
                self.run_task_action(result.action, task_id, result.slot)

        screen = DetailScreen(
            task,
            self.image_kind,
            self.clock,
            pictures=self.service.pictures,
            history=self.history,
            output_dir=default_output_dir(self.config),
            cost_of=self.service.task_cost,
        )
        self.push_screen(screen, done)

    def cancel_task(self, task_id: str) -> bool:
        """Cancel a queued or running task (its worker closes the HTTP stream)."""
        task = self.service.cancel(task_id)
        if task is None:
            return False
        self.task_ended(task)
        self.forward_to_detail(task)
        return True

    def action_cancel_all(self) -> None:
        for task_id in [t.id for t in self.tasks.values() if t.active]:
            self.cancel_task(task_id)

    def retry_task(self, task_id: str, slot: int | None = None, *, ask: bool = True) -> Task | None:
        """A new run of the same prompt and parameters (the old task stays in history), of
        the images that need it (`Task.retry_slots`): `slot` alone, or only the failed
        images of an n > 1 task some of whose images came (issue 14.2)."""
        old = self.tasks.get(task_id)
        draft = self.service.retry_draft(task_id, self.params, slot)
        if draft is None or old is None:
            return None
        if draft.params.n != old.n:
            redo = old.retry_slots(slot if old.n > 1 else None)
            which = ", ".join(str(i + 1) for i in redo)
            self.notify(
                f"Image{'s' if len(redo) > 1 else ''} {which} of {old.n} run again"
                + ("" if slot is not None else " (the ones that failed)"),
                title="Retry",
                markup=False,
            )
        return self.send(draft, ask=ask)

    def reuse_task(self, task_id: str) -> None:
        """Put a task's prompt, parameters and input images back into the composer."""
        reuse = self.service.reuse(task_id, self.params)
        if reuse is None:
            return
        self.set_params(reuse.params)
        self.composer.set_attachments(reuse.attachments)
        self.composer.set_text(reuse.prompt)
        self.composer.area.focus()

    def refine_task(self, task_id: str, slot: int = 0) -> None:
        """Set the composer up for an edit of this task's image (Responses: a follow-up)."""
        refine = self.service.refine(task_id, slot)
        if refine is None:
            return
        self.composer.set_refine(refine.parent_id, refine.response_id, refine.images)
        self.composer.area.focus()
        task = self.tasks[task_id]
        image = refine.images[0] if refine.images else None
        used = next((i for i, s in enumerate(task.slots) if s.image_path == image), slot)
        what = f"image {used + 1} of {task.n}" if task.n > 1 else "the image"
        self.notify(
            f"Refining {what} of “{one_line(task.prompt, 60)}”"
            + (f" ({image.name})" if image is not None else "")
            + ". Describe the change and press Enter.",
            title="Refine",
            markup=False,
        )

    def toggle_star(self, task_id: str) -> None:
        task = self.service.toggle_star(task_id)
        if task is None:
            return
        card = self.task_list.card(task_id)
        if card is not None:
            card.refresh_task()
        self.forward_to_detail(task)  # the detail view shows the star too

    def ask_delete(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        running = " It is still running and will be cancelled." if task.active else ""
        question = f"Delete “{one_line(task.prompt, 60)}” and its images?{running}"

        def done(yes: bool | None) -> None:
            if yes:
                self.call_next(self.delete_task, task_id)

        self.push_screen(ConfirmScreen(question, yes="Delete", title="Delete task"), done)

    async def delete_task(self, task_id: str) -> None:
        """Delete a task (cancelling it first when it runs), its card and its files."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        if task.active:
            self.cancel_task(task_id)
        self.service.forget(task_id)
        self.task_list.forget({task_id})
        await self.task_list.remove_task(task_id)
        self.update_subtitle()

    def action_delete_failed(self) -> None:
        self.call_next(self.ask_delete_failed)

    async def ask_delete_failed(self) -> None:
        """Say how many tasks of which status would go (the whole history), then ask; with
        none to delete, say so and ask nothing (issue 14.5)."""
        counts = await self.service.failed_counts()
        if counts is None:
            return
        failed, cancelled, starred = counts["failed"], counts["cancelled"], counts["starred"]
        kept = "Interrupted tasks are kept (their preview may be all there is)"
        if starred:
            kept += f", and {starred} starred failed or cancelled task"
            kept += "s" if starred != 1 else ""
        if not failed + cancelled:
            self.notify(
                f"No failed or cancelled task to delete. {kept}.", title="Nothing to delete"
            )
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.call_next(self.delete_failed)

        def n(count: int, word: str) -> str:
            return f"{count} {word} task{'s' if count != 1 else ''}"

        self.push_screen(
            ConfirmScreen(
                f"Delete {n(failed, 'failed')} and {n(cancelled, 'cancelled')}, with their "
                f"files? {kept}.",
                yes=f"Delete {failed + cancelled}",
                title="Delete failed tasks",
            ),
            done,
        )

    async def delete_failed(self) -> None:
        """Delete every failed or cancelled task (starred ones stay), in the whole history."""
        ids = self.service.failed_ids()
        self.service.pages.removed(len(ids))  # loaded rows: the later ones move up
        self.task_list.forget(set(ids))
        for task_id in ids:
            self.tasks.pop(task_id, None)
            await self.task_list.remove_task(task_id)
        count = await self.service.delete_failed()
        if count is None:
            return
        self.recount()
        self.notify(
            f"Deleted {count} failed or cancelled task{'s' if count != 1 else ''} and their files."
        )
