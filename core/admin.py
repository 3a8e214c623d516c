"""Django admin for every model of the job board."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from core.accounts.models import User
from core.applications.models import Application, ApplicationStatusChange
from core.jobs.models import Category, Job
from core.outbox import services
from core.outbox.models import EmailDelivery, OutboxEvent


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Job board", {"fields": ("role",)}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Job board", {"fields": ("email", "role")}))


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("title", "company_name", "category", "status", "published_at", "expires_at")
    list_filter = ("status", "employment_type", "remote", "category")
    search_fields = ("title", "company_name", "location")
    raw_id_fields = ("employer",)
    list_select_related = ("category",)
    readonly_fields = ("created_at", "updated_at")
    exclude = ("search_vector",)
    date_hierarchy = "created_at"


class ApplicationStatusChangeInline(admin.TabularInline):
    model = ApplicationStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "changed_by", "note", "changed_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "applicant", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("job__title", "applicant__username", "applicant__email")
    raw_id_fields = ("job", "applicant")
    list_select_related = ("job", "applicant")
    inlines = [ApplicationStatusChangeInline]


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
        count = services.replay_events(event_ids=list(queryset.values_list("id", flat=True)))
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
        retried, missing = services.retry_failed_deliveries(
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
