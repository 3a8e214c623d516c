"""Django admin for every model of the job board.

An operator's edit is a write like any other: it goes through the domain's services, so it has
its events, its history rows and its cache refresh, and the workers and emails see it. Whatever
no service writes is read-only here.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from core.accounts import services as account_services
from core.accounts.models import User
from core.alerts.models import JobAlert
from core.applications import services as application_services
from core.applications.models import Application, ApplicationStatus, ApplicationStatusChange
from core.applications.services import EMPLOYER_TRANSITIONS
from core.exceptions import DomainError
from core.jobs import services as job_services
from core.jobs.models import EDITABLE_JOB_FIELDS, Category, Job, JobStatus
from core.outbox import services as outbox_services
from core.outbox.models import EmailDelivery, OutboxEvent
from core.webhooks import services as webhook_services
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# What only the services change on a job: who owns it and where it is in its life.
LIFECYCLE_FIELDS = (
    "employer",
    "status",
    "created_at",
    "updated_at",
    "published_at",
    "expires_at",
    "closed_at",
    "deleted_at",
    "expiry_reminder_sent_at",
)
EDITABLE_JOB_STATUSES = (JobStatus.DRAFT, JobStatus.PUBLISHED)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Job board", {"fields": ("role",)}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Job board", {"fields": ("email", "role")}))

    def save_model(self, request, obj: User, form, change: bool) -> None:
        """Save as Django does; deactivating an account, or setting its password here, also
        ends its sessions (their access tokens answer 401 from the next request)."""
        super().save_model(request, obj, form, change)
        if change and (not obj.is_active or "password" in form.changed_data):
            account_services.end_sessions(user=obj)
            account_services.revoke_refresh_tokens(user=obj)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """Categories, written through the jobs services: the public category list is refreshed as
    for an API call."""

    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj: Category, form, change: bool) -> None:
        if change:
            job_services.update_category(category=obj, name=obj.name, slug=obj.slug)
            return
        created = job_services.create_category(name=obj.name, slug=obj.slug)
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj: Category) -> None:
        job_services.delete_category(category=obj)

    def delete_queryset(self, request, queryset) -> None:
        for category in queryset:
            job_services.delete_category(category=category)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs as their employers edit them, through the jobs services: an edit of a visible job
    emits `job.updated`, and publishing, closing, renewing and deleting are the services' own
    actions (events, listing refresh, expiry dates) rather than fields to type into. Jobs are
    posted by employers, not here."""

    list_display = ("title", "company_name", "category", "status", "published_at", "expires_at")
    list_filter = ("status", "employment_type", "remote", "category")
    search_fields = ("title", "company_name", "location")
    list_select_related = ("category",)
    fields = (*EDITABLE_JOB_FIELDS, *LIFECYCLE_FIELDS)
    readonly_fields = LIFECYCLE_FIELDS
    date_hierarchy = "created_at"
    actions = ["publish", "close", "renew"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_readonly_fields(self, request, obj: Job | None = None) -> tuple[str, ...]:
        if obj is not None and obj.status not in EDITABLE_JOB_STATUSES:
            return self.fields  # a closed or expired job cannot be edited (`update_job`)
        return self.readonly_fields

    def save_model(self, request, obj: Job, form, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        job_services.update_job(job=obj, changes=changes)

    def delete_model(self, request, obj: Job) -> None:
        job_services.delete_job(job=obj)

    def delete_queryset(self, request, queryset) -> None:
        for job in queryset:
            job_services.delete_job(job=job)

    def _each(self, request, queryset, service, done: str) -> None:
        changed, refused = 0, []
        for job in queryset:
            try:
                service(job=job)
            except DomainError as exc:
                refused.append(f"{job}: {exc.detail}")
            else:
                changed += 1
        self.message_user(request, f"{changed} job(s) {done}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Publish the selected drafts")
    def publish(self, request, queryset) -> None:
        self._each(request, queryset, job_services.publish_job, "published")

    @admin.action(description="Close the selected jobs")
    def close(self, request, queryset) -> None:
        self._each(request, queryset, job_services.close_job, "closed")

    @admin.action(description="Renew the selected jobs for another lifetime")
    def renew(self, request, queryset) -> None:
        self._each(request, queryset, job_services.renew_job, "renewed")


class ApplicationStatusChangeInline(admin.TabularInline):
    model = ApplicationStatusChange
    extra = 0
    can_delete = False
    readonly_fields = (
        "from_status",
        "to_status",
        "changed_by",
        "note",
        "internal_note",
        "changed_at",
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ApplicationAdminForm(forms.ModelForm):
    """An application's status, moved along the employer's pipeline, with a note for its history."""

    note = forms.CharField(
        max_length=1000,
        required=False,
        help_text="Kept in the application's history with the status change.",
    )

    class Meta:
        model = Application
        fields = ("status",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.status
        allowed = {current, *EMPLOYER_TRANSITIONS.get(current, ())}
        self.fields["status"].choices = [
            (value, label) for value, label in ApplicationStatus.choices if value in allowed
        ]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Applications: only the status moves here, through the applications service, so the move
    is in the history and the applicant gets its email as after an employer's. Applications are
    sent by job seekers and never deleted."""

    form = ApplicationAdminForm
    list_display = ("id", "job", "applicant", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("job__title", "applicant__username", "applicant__email")
    list_select_related = ("job", "applicant")
    fields = ("job", "applicant", "cover_letter", "resume_url", "status", "note", "created_at")
    readonly_fields = ("job", "applicant", "cover_letter", "resume_url", "created_at")
    inlines = [ApplicationStatusChangeInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Application, form, change: bool) -> None:
        if "status" in form.changed_data:
            application_services.change_application_status(
                application=obj,
                to_status=form.cleaned_data["status"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "event_type", "occurred_at", "published_at", "publish_attempts")
    list_filter = ("event_type", ("published_at", admin.EmptyFieldListFilter))
    # An operator holding a request id from a log line or an X-Request-ID header finds its events.
    search_fields = ("=request_id",)
    readonly_fields = ("id", "event_type", "payload", "request_id", "occurred_at", "published_at")
    date_hierarchy = "occurred_at"
    actions = ["replay"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Publish the selected events again (subscribers are idempotent)")
    def replay(self, request, queryset) -> None:
        count = outbox_services.replay_events(event_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} event(s) queued for publishing.", messages.SUCCESS)


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "template", "recipient", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "template", "event_type")
    search_fields = ("recipient", "subject", "event_id", "idempotency_key")
    readonly_fields = [field.name for field in EmailDelivery._meta.fields]
    date_hierarchy = "created_at"
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected failed deliveries")
    def retry(self, request, queryset) -> None:
        retried, missing = outbox_services.retry_failed_deliveries(
            delivery_ids=list(queryset.values_list("id", flat=True))
        )
        self.message_user(
            request, f"{retried} failed delivery(ies) queued again.", messages.SUCCESS
        )
        if missing:
            self.message_user(
                request,
                f"{missing} could not be retried: their event was pruned.",
                messages.WARNING,
            )


@admin.register(JobAlert)
class JobAlertAdmin(admin.ModelAdmin):
    """Seekers' job alerts: operators look and pause; the filters are the seeker's to change."""

    list_display = ("id", "name", "user", "frequency", "is_active", "created_at", "last_sent_at")
    list_filter = ("frequency", "is_active")
    search_fields = ("name", "user__username", "user__email", "search")
    list_select_related = ("user",)
    readonly_fields = [
        field.name for field in JobAlert._meta.fields if field.name not in ("is_active",)
    ]

    def has_add_permission(self, request) -> bool:
        return False


# --- Webhooks ---------------------------------------------------------------------------------


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Employers' endpoints, read-only (their owners change them through the API); the secrets
    are never shown."""

    list_display = ("id", "url", "employer", "is_active", "disabled_reason", "created_at")
    list_filter = ("is_active", "disabled_reason")
    search_fields = ("url", "employer__username", "employer__email")
    fields = readonly_fields = (
        "employer",
        "url",
        "events",
        "description",
        "is_active",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = ("at", "status_code", "duration_ms", "response_excerpt", "error")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: each delivery with its attempts; redelivery keeps id and body."""

    list_display = ("id", "event_type", "endpoint", "status", "attempts_count", "created_at")
    list_filter = ("status", "event_type")
    search_fields = ("=id", "=event_id", "endpoint__url")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    date_hierarchy = "created_at"
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Redeliver the selected deliveries (same webhook-id and body)")
    def redeliver(self, request, queryset) -> None:
        done, skipped = webhook_services.redeliver_many(
            delivery_ids=list(queryset.values_list("id", flat=True))
        )
        self.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: their endpoint is disabled.", messages.WARNING
            )
