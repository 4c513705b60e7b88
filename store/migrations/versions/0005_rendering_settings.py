"""rendering: settings per user and image (OMERO.web query parameters as JSON)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:20:57.175722
"""
import sqlalchemy as sa
from alembic import op

import store.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rendering_settings',
    sa.Column('image_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('query', sa.JSON(), server_default='{}', nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created', store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated', store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['experimenter_group.id'], name=op.f('fk_rendering_settings_group_id_experimenter_group'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_rendering_settings_image_id_image'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenter.id'], name=op.f('fk_rendering_settings_owner_id_experimenter'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rendering_settings')),
    sa.UniqueConstraint('image_id', 'owner_id', name=op.f('uq_rendering_settings_image_id_owner_id'))
    )
    with op.batch_alter_table('rendering_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rendering_settings_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rendering_settings_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rendering_settings_owner_id'), ['owner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rendering_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rendering_settings_owner_id'))
        batch_op.drop_index(batch_op.f('ix_rendering_settings_image_id'))
        batch_op.drop_index(batch_op.f('ix_rendering_settings_group_id'))

    op.drop_table('rendering_settings')
